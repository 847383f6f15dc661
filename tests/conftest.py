"""Fixtures shared by the test modules (helpers that are not fixtures live in nodes_support.py and friends)."""
import random

import pytest

#: ROS domain ids drawn for a test's own rclpy context, so that tests running at once do not see each other
DOMAIN_IDS = (1, 200)


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    """An rclpy Context of its own on a random domain, with the ROS log in the test's tmp_path; shut down after
    the test. Modules that use it skip without rclpy (pytest.importorskip at their top)."""
    rclpy = pytest.importorskip("rclpy")
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    c = rclpy.Context()
    rclpy.init(context=c, domain_id=random.randint(*DOMAIN_IDS))
    yield c
    rclpy.shutdown(context=c)

"""tracker.adapt: self-training on the user's own unlabelled bags with pseudo labels the tracker vouches for
(``tracker-adapt``; docs/adaptation.md). teacher (test-time-augmented inference) -> offline (forward + backward
tracking, short tracks dropped, gaps filled) -> labels (soft weights, ignore regions) -> rounds (train the
student, evaluate, repeat); measure scores pseudo labels against ground truth, for the report only."""

"""GLSL sources of world B (OpenGL 3.3 core): the scene pass (linear radiance, camera z, apparent
temperature, object id in two float targets; with ``split_sun`` also the unshadowed sun terms and the world
position, for the static-scene cache), the composite pass (cached static scene + this frame's shadow map),
the sun shadow pass, and the mask pass (same vertex stage, so its pixels are exactly the objects' pixels of the
scene pass; each selected object writes 1 into its channel 0..7 of the two targets, the others are culled).

Texture kinds are the numbers of ``materials.TEX``.
"""

VERTEX = """
#version 330
invariant gl_Position;
uniform mat4 view_proj;
uniform mat4 light_vp;
uniform int mask_pass;
uniform sampler2D channels;
in vec3 in_pos;
in vec3 in_nrm;
in float in_mat;
in float in_id;
out vec3 v_pos;
out vec3 v_nrm;
out vec4 v_light;
flat out int v_mat;
flat out float v_id;
flat out float v_chan;
void main() {
    v_pos = in_pos;
    v_nrm = in_nrm;
    v_mat = int(in_mat + 0.5);
    v_id = in_id;
    v_light = light_vp * vec4(in_pos, 1.0);
    gl_Position = view_proj * vec4(in_pos, 1.0);
    int gid = int(in_id + 0.5);
    v_chan = gid < textureSize(channels, 0).x ? texelFetch(channels, ivec2(gid, 0), 0).r : -1.0;
    if (mask_pass == 1 && v_chan < 0.0) gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
}
"""

FRAGMENT = """
#version 330
uniform sampler2D materials;
uniform sampler2DShadow shadow_map;
uniform int use_shadow;
uniform int split_sun;
uniform int mask_mode;
uniform vec3 cam_pos;
uniform vec3 cam_fwd;
uniform vec3 sun_dir;
uniform vec3 sun_rgb;
uniform float solar_scale;
uniform vec3 ambient_rgb;
uniform int n_lamps;
uniform vec3 lamps[8];
uniform float lamp_power;
uniform float sky_k;
uniform float air_k;
uniform float shadow_bias;
in vec3 v_pos;
in vec3 v_nrm;
in vec4 v_light;
flat in int v_mat;
flat in float v_id;
flat in float v_chan;
layout(location = 0) out vec4 out_color;
layout(location = 1) out vec4 out_aux;
layout(location = 2) out vec4 out_sun;  // sun radiance and sun heating before shadowing (static cache only)
layout(location = 3) out vec4 out_pos;  // world position, w = 1 where a surface is (static cache only)

float hash(vec2 p) {
    p = fract(p * vec2(0.3183099, 0.3678794) + vec2(0.71, 0.113));
    p *= 17.0;
    return fract(p.x * p.y * (p.x + p.y));
}
float vnoise(vec2 p) {
    vec2 i = floor(p);
    vec2 f = fract(p);
    f = f * f * (3.0 - 2.0 * f);
    return mix(mix(hash(i), hash(i + vec2(1, 0)), f.x), mix(hash(i + vec2(0, 1)), hash(i + vec2(1, 1)), f.x), f.y);
}
// one noise value and one cell hash per pixel, whatever the kind (branch-free: llvmpipe runs every branch)
vec3 albedo_of(int kind, vec3 a, vec3 c2, float s, vec3 p) {
    vec2 q = vec2(p.x + 0.7 * p.z, p.y - 0.6 * p.z);
    float nz = vnoise(q * s);
    float row = floor(p.z * s * 3.0);
    float u = (p.x + p.y) * s * 1.5 + 0.5 * mod(row, 2.0);
    vec2 cell = kind == 3 ? floor(p.xy * s) : vec2(floor(u), row);
    float h = hash(cell);
    vec2 g = fract(p.xy * s);
    float stripe = step(0.5, fract(p.z * s));
    float check = mod(floor(p.x * s) + floor(p.y * s) + floor(p.z * s), 2.0);
    float brick_edge = step(min(fract(p.z * s * 3.0), fract(u)), 0.08);
    vec3 paving = a * (min(g.x, g.y) < 0.06 ? 0.6 : 1.0) * (0.85 + 0.3 * h);
    vec3 brick = mix(a * (0.85 + 0.3 * h), c2, brick_edge);
    vec3 out_c = a;
    out_c = kind == 1 ? mix(a, c2, stripe) : out_c;
    out_c = kind == 2 ? mix(a, c2, check) : out_c;
    out_c = kind == 3 ? paving : out_c;
    out_c = kind == 4 ? a * (0.8 + 0.4 * nz) : out_c;
    out_c = kind == 5 ? a * (0.6 + 0.8 * nz) : out_c;
    out_c = kind == 6 ? brick : out_c;
    out_c = kind == 7 ? a * (0.8 + 0.4 * nz) : out_c;
    return out_c;
}
void main() {
    if (mask_mode == 1) {
        out_color = vec4(equal(vec4(v_chan), vec4(0.0, 1.0, 2.0, 3.0)));
        out_aux = vec4(equal(vec4(v_chan), vec4(4.0, 5.0, 6.0, 7.0)));
        return;
    }
    vec4 m0 = texelFetch(materials, ivec2(v_mat, 0), 0);
    vec4 m1 = texelFetch(materials, ivec2(v_mat, 1), 0);
    vec4 m2 = texelFetch(materials, ivec2(v_mat, 2), 0);
    vec4 m3 = texelFetch(materials, ivec2(v_mat, 3), 0);
    float z = dot(v_pos - cam_pos, cam_fwd);
    if (mask_mode == 2) {  // depth camera: range, reflective flag, base albedo only
        out_color = vec4(0.0, 0.0, 0.0, z);
        out_aux = vec4(0.0, v_id, m2.y, dot(m0.rgb, vec3(0.3333)));
        out_sun = vec4(0.0);
        out_pos = vec4(v_pos, 1.0);
        return;
    }
    vec3 n = normalize(v_nrm);
    vec3 to_cam = cam_pos - v_pos;
    if (dot(n, to_cam) < 0.0) n = -n;
    vec3 albedo = albedo_of(int(m0.w + 0.5), m0.rgb, m3.rgb, m1.w, v_pos);
    float lit = 1.0;
    if (use_shadow == 1) {
        vec3 lp = v_light.xyz / v_light.w * 0.5 + 0.5;
        if (all(greaterThan(lp, vec3(0.0))) && all(lessThan(lp, vec3(1.0))))
            lit = texture(shadow_map, vec3(lp.xy, lp.z - shadow_bias));
    }
    float ndl0 = max(dot(n, sun_dir), 0.0);
    vec3 irr = ambient_rgb * (0.65 + 0.35 * n.z);
    for (int i = 0; i < n_lamps; i++) {
        vec3 l = lamps[i] - v_pos;
        float d2 = max(dot(l, l), 0.25);
        irr += vec3(1.0, 0.85, 0.6) * lamp_power * max(dot(n, normalize(l)), 0.0) / d2;
    }
    vec3 sun_rad = albedo * sun_rgb * ndl0;
    float t_sun = m1.y * m1.z * ndl0 * solar_scale;
    // reflected surroundings: the sky above a surface facing up, air-temperature surroundings sideways
    float t_refl = mix(air_k, sky_k, clamp(n.z, 0.0, 1.0));
    float t_base = m1.y * m1.x + (1.0 - m1.y) * t_refl;
    float k = split_sun == 1 ? 0.0 : lit;  // split: the sun terms go to out_sun, shadowed later (COMPOSITE)
    out_color = vec4(albedo * irr + m2.x * m0.rgb + k * sun_rad, z);
    out_aux = vec4(t_base + k * t_sun, v_id, m2.y, dot(albedo, vec3(0.3333)));
    out_sun = vec4(sun_rad, t_sun);
    out_pos = vec4(v_pos, 1.0);
}
"""

SHADOW_VERTEX = """
#version 330
uniform mat4 light_vp;
in vec3 in_pos;
void main() { gl_Position = light_vp * vec4(in_pos, 1.0); }
"""

SHADOW_FRAGMENT = """
#version 330
void main() { }
"""

COMPOSITE_VERTEX = """
#version 330
void main() { gl_Position = vec4(float(gl_VertexID & 1) * 4.0 - 1.0, float(gl_VertexID >> 1) * 4.0 - 1.0, 0.0, 1.0); }
"""

COMPOSITE_FRAGMENT = """
#version 330
uniform sampler2D base_col;
uniform sampler2D base_aux;
uniform sampler2D sun_term;
uniform sampler2D world_pos;
uniform sampler2D depth_tex;
uniform sampler2DShadow shadow_map;
uniform mat4 light_vp;
uniform int use_shadow;
uniform float shadow_bias;
layout(location = 0) out vec4 out_color;
layout(location = 1) out vec4 out_aux;
void main() {
    ivec2 px = ivec2(gl_FragCoord.xy);
    vec4 c = texelFetch(base_col, px, 0);
    vec4 a = texelFetch(base_aux, px, 0);
    vec4 s = texelFetch(sun_term, px, 0);
    vec4 p = texelFetch(world_pos, px, 0);
    float lit = 1.0;
    if (use_shadow == 1 && p.w > 0.0) {
        vec4 l = light_vp * vec4(p.xyz, 1.0);
        vec3 lp = l.xyz / l.w * 0.5 + 0.5;
        if (all(greaterThan(lp, vec3(0.0))) && all(lessThan(lp, vec3(1.0))))
            lit = texture(shadow_map, vec3(lp.xy, lp.z - shadow_bias));
    }
    out_color = vec4(c.rgb + lit * s.rgb, c.a);
    out_aux = vec4(a.x + lit * s.a, a.yzw);
    gl_FragDepth = texelFetch(depth_tex, px, 0).r;
}
"""

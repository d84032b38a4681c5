import numpy as np

from pigskin import boxes


def test_conversions_roundtrip():
    rng = np.random.default_rng(0)
    xyxy = np.sort(rng.uniform(0, 100, (20, 2, 2)), axis=1).transpose(0, 2, 1).reshape(20, 4)
    np.testing.assert_allclose(boxes.xywh_to_xyxy(boxes.xyxy_to_xywh(xyxy)), xyxy)
    np.testing.assert_allclose(boxes.cxcywh_to_xyxy(boxes.xyxy_to_cxcywh(xyxy)), xyxy)


def test_iou_hand_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(boxes.iou(a, b), [[1.0, 50 / 150, 0.0]])
    assert boxes.iou(np.zeros((0, 4)), b).shape == (0, 3)


def test_nms_keeps_best_of_overlapping():
    b = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]])
    keep = boxes.nms(b, np.array([0.5, 0.9, 0.3]), 0.5)
    assert keep.tolist() == [1, 2]


def test_clip_outside_and_centre_distance():
    b = np.array([[-5, 2, 10, 12], [1, 1, 3, 3]])
    assert boxes.outside(b, 8, 8).tolist() == [True, False]
    np.testing.assert_allclose(boxes.clip(b, 8, 8)[0], [0, 2, 8, 8])
    d = boxes.center_distance(np.array([[0, 0, 2, 2]]), np.array([[3, 4, 5, 6]]))
    np.testing.assert_allclose(d, [[5.0]])

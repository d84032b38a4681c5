import numpy as np
import pytest

from pigskin.detections import Detections


def test_empty_is_normal():
    d = Detections.empty()
    assert len(d) == 0 and d.xyxy.shape == (0, 4) and d.class_id.shape == (0,)
    assert len(Detections(np.zeros((0, 4)))) == 0
    assert d.area.shape == (0,) and d.centers.shape == (0, 2)


@pytest.mark.parametrize(
    "xyxy, message",
    [
        ([[0, 0, 10]], "shape"),
        ([[0, 0, np.nan, 5]], "not finite"),
        ([[5, 0, 5, 5]], "x1 < x2"),
        ([[0, 6, 5, 5]], "y1 < y2"),
    ],
)
def test_validation_names_the_problem(xyxy, message):
    with pytest.raises(ValueError, match=message):
        Detections(np.array(xyxy, dtype=np.float64))


def test_field_shapes_are_checked():
    box = [[0, 0, 4, 4]]
    with pytest.raises(ValueError, match="class_id"):
        Detections(box, [0, 1])
    with pytest.raises(ValueError, match="confidence"):
        Detections(box, [0], confidence=[0.1, 0.2])
    with pytest.raises(ValueError, match="attribute 'occlusion'"):
        Detections(box, [0], attrs={"occlusion": [0.1, 0.2]})
    with pytest.raises(ValueError, match="integers"):
        Detections(box, [0.5])


def test_indexing_concat_and_attributes():
    d = Detections(
        [[0, 0, 4, 2], [10, 10, 20, 30]],
        [0, 1],
        confidence=[0.9, 0.4],
        attrs={"occlusion": [0.0, 0.5], "source": ["human", "model"]},
    )
    picked = d[d.confidence > 0.5]
    assert len(picked) == 1 and picked.attrs["source"].tolist() == ["human"]
    np.testing.assert_allclose(d.area, [8, 200])
    np.testing.assert_allclose(d.centers, [[2, 1], [15, 20]])
    np.testing.assert_allclose(d.xywh[1], [10, 10, 10, 20])
    both = Detections.concat([d, Detections([[1, 1, 2, 2]], [0], confidence=[0.1])])
    assert len(both) == 3 and both.confidence is not None
    assert both.attrs["occlusion"].tolist() == [0.0, 0.5, None]
    rows = both.attr_rows()
    assert rows[2] == {} and rows[1] == {"occlusion": 0.5, "source": "model"}
    assert Detections.from_attr_rows(rows)["source"] == ["human", "model", None]


def test_equality_tolerance():
    a = Detections([[0, 0, 4, 4]], [0])
    b = Detections([[0, 0, 4.0004, 4]], [0])
    assert a != b
    assert a.equals(b, atol=1e-3)
    assert a != Detections([[0, 0, 4, 4]], [1])


def test_from_xywh_roundtrip():
    d = Detections.from_xywh([[3, 4, 5, 6]], [2])
    np.testing.assert_allclose(d.xyxy, [[3, 4, 8, 10]])
    np.testing.assert_allclose(d.xywh, [[3, 4, 5, 6]])

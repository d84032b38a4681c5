import pytest

from pigskin.fileio import atomic_dir, atomic_write, write_text


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_dir_swaps_whole_folder(tmp_path):
    target = tmp_path / "ds"
    with atomic_dir(target) as d:
        (d / "a.txt").write_text("1")
    with pytest.raises(ValueError), atomic_dir(target) as d:
        (d / "b.txt").write_text("2")
        raise ValueError("bad record")
    assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    with atomic_dir(target) as d:
        (d / "c.txt").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_read_json_lines_names_the_bad_line(tmp_path):
    from pigskin.errors import FormatError
    from pigskin.fileio import read_json_lines

    good = tmp_path / "a.jsonl"
    good.write_text('{"a": 1}\n\n{"b": 2}\n')
    assert list(read_json_lines(good)) == [(1, {"a": 1}), (3, {"b": 2})]
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(FormatError, match=r"b\.jsonl: line 2: malformed JSON"):
        list(read_json_lines(bad))
    bad.write_text('[1, 2]\n')
    with pytest.raises(FormatError, match="line 1: expected a JSON object, got list"):
        list(read_json_lines(bad))

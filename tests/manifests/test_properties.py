"""Properties of the manifest engine on generated files in mixed styles.

For any generated file: an edit changes exactly the intended line, or only inserts the
intended lines; re-parsing gives the original data with exactly the intended change;
and applying the same edit again changes nothing.
"""

import copy
import difflib

import ruamel.yaml
from hypothesis import given
from hypothesis import strategies as st

from envwake import manifests
from envwake.sandbox.manifest_styles import ManifestStyle, deployment, scaled_object

KEY_PART = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
LABEL = st.tuples(KEY_PART, st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True))


@st.composite
def styles(draw, *, crlf, bom):
    return ManifestStyle(
        indent=draw(st.sampled_from([2, 4])),
        compact_sequences=draw(st.booleans()),
        quote=draw(st.sampled_from(["double", "single", "plain"])),
        comments=draw(st.booleans()),
        japanese_comments=draw(st.booleans()),
        blank_lines=draw(st.booleans()),
        crlf=crlf,
        bom=bom,
        final_newline=draw(st.booleans()),
        leading_separator=draw(st.booleans()),
        flow_metadata=draw(st.booleans()),
        min_replicas=draw(st.sampled_from(["int", "absent", "empty", "null", "quoted"])),
        labels=tuple(draw(st.lists(LABEL, max_size=3, unique_by=lambda kv: kv[0]))),
    )


@st.composite
def files(draw):
    """A ScaledObject and a Deployment (either order) in one file, each in its own style."""
    crlf = draw(st.booleans())
    first, second = (
        draw(styles(crlf=crlf, bom=draw(st.booleans()))),
        draw(styles(crlf=crlf, bom=False)),
    )
    annotations = tuple(draw(st.lists(LABEL, max_size=2, unique_by=lambda kv: kv[0])))
    so = scaled_object("api", "shop", style=first, desired_replicas=draw(st.integers(1, 9)))
    dep = deployment("api", "shop", style=second, annotations=annotations)
    newline = "\r\n" if crlf else "\n"
    a, b = (dep, so) if draw(st.booleans()) else (so, dep)
    if not a.endswith(newline):
        a += newline
    if b.startswith("\ufeff"):
        b = b[1:]
    return a + "---" + newline + b


def load_all(text):
    return [d for d in ruamel.yaml.YAML(typ="safe", pure=True).load_all(text) if d is not None]


def line_changes(before, after):
    """The diff as opcodes over lines (line endings included), equal runs dropped."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [
        (tag, a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    ]


def by_kind(docs, kind):
    return next(d for d in docs if d["kind"] == kind)


@given(text=files(), replicas=st.integers(0, 2**31 - 1))
def test_set_min_replicas_changes_exactly_one_line(text, replicas):
    original = load_all(text)
    edit = manifests.set_min_replicas(text, replicas, source="gen.yaml")

    expected = copy.deepcopy(original)
    by_kind(expected, "ScaledObject")["spec"]["minReplicaCount"] = replicas
    assert load_all(edit.text) == expected

    changes = line_changes(text, edit.text)
    before = by_kind(original, "ScaledObject")["spec"].get("minReplicaCount", "absent")
    if before == replicas:
        assert changes == []
    elif "minReplicaCount" not in by_kind(original, "ScaledObject")["spec"]:
        assert [tag for tag, *_ in changes] == ["insert"]
        assert len(changes[0][2]) == 1
        assert changes[0][2][0].strip() == f"minReplicaCount: {replicas}"
    else:
        assert [tag for tag, *_ in changes] == ["replace"]
        ((_, old, new),) = changes
        assert len(old) == len(new) == 1
        assert "minReplicaCount:" in old[0]
        assert f"minReplicaCount: {replicas}" in new[0]
    assert_same_line_endings(text, edit.text)
    assert manifests.set_min_replicas(edit.text, replicas, source="gen.yaml").changed is False


ANNOTATION_KEY = st.builds(lambda a, b: f"{a}.example/{b}", KEY_PART, KEY_PART)
ANNOTATION_VALUE = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(text=files(), key=ANNOTATION_KEY, value=ANNOTATION_VALUE)
def test_set_annotation_inserts_or_replaces_only_its_lines(text, key, value):
    original = load_all(text)
    edit = manifests.set_pod_template_annotation(text, key, value, source="gen.yaml")

    expected = copy.deepcopy(original)
    template = by_kind(expected, "Deployment")["spec"]["template"]["metadata"]
    had_annotations = "annotations" in template
    had_key = key in template.get("annotations", {})
    template.setdefault("annotations", {})[key] = value
    assert load_all(edit.text) == expected

    changes = line_changes(text, edit.text)
    if had_key:
        assert [tag for tag, *_ in changes] == ["replace"]
        assert len(changes[0][1]) == len(changes[0][2]) == 1
    else:
        assert [tag for tag, *_ in changes] == ["insert"]
        assert len(changes[0][2]) == (1 if had_annotations else 2)
    assert_same_line_endings(text, edit.text)
    again = manifests.set_pod_template_annotation(edit.text, key, value, source="gen.yaml")
    assert again.changed is False


def assert_same_line_endings(before, after):
    crlf = "\r\n" in before
    for line in after.splitlines(keepends=True):
        if line.endswith("\n"):
            assert line.endswith("\r\n") == crlf, repr(line)
    assert after.startswith("\ufeff") == before.startswith("\ufeff")
    assert after.endswith("\n") == before.endswith("\n")


@given(text=files(), replicas=st.integers(0, 2**31 - 1))
def test_removing_an_inserted_min_replicas_gives_back_the_text_byte_for_byte(text, replicas):
    original = load_all(text)
    so = by_kind(original, "ScaledObject")["spec"]
    inserted = manifests.set_min_replicas(text, replicas, source="gen.yaml")
    removed = manifests.remove_min_replicas(inserted.text, source="gen.yaml")
    if "minReplicaCount" not in so:
        assert removed.text == text
        assert removed.before == str(replicas)
    expected = copy.deepcopy(original)
    by_kind(expected, "ScaledObject")["spec"].pop("minReplicaCount", None)
    assert load_all(removed.text) == expected
    assert removed.after is None
    changes = line_changes(inserted.text, removed.text)
    assert [tag for tag, *_ in changes] == ["delete"]
    assert all("minReplicaCount" in line for line in changes[0][1])
    assert_same_line_endings(inserted.text, removed.text)
    again = manifests.remove_min_replicas(removed.text, source="gen.yaml")
    assert again.changed is False
    assert again.text == removed.text

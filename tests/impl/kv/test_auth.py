"""The replicated auth state (quorum.impl.kv.auth): etcd's key-range arithmetic, the
permission union, root semantics, refusals as values, passwords, and the snapshot form."""

from __future__ import annotations

import pytest

from quorum.impl.kv.auth import (
    AuthError,
    AuthState,
    PermType,
    check_password,
    covers,
    decode_op,
    encode_op,
    hash_password,
    interval,
)

R, W, RW = PermType.READ, PermType.WRITE, PermType.READWRITE


def test_interval_follows_etcds_range_end_conventions() -> None:
    assert interval(b"k", b"") == (b"k", b"k\0")  # the single key
    assert interval(b"k", b"\0") == (b"k", None)  # every key >= k
    assert interval(b"app/", b"app0") == (b"app/", b"app0")  # the prefix app/
    assert interval(b"b", b"a") == (b"b", b"b\0")  # empty range: read as the key alone


def test_covers_needs_the_union_without_gaps() -> None:
    assert covers([(b"a", b"c"), (b"c", b"e")], (b"a", b"e"))  # adjacent intervals join
    assert covers([(b"c", b"e"), (b"a", b"d")], (b"b", b"e"))  # order does not matter
    assert not covers([(b"a", b"c"), (b"d", b"e")], (b"a", b"e"))  # the gap [c, d)
    assert not covers([(b"a", b"c")], (b"a", b"c\0"))  # one byte past the end
    assert covers([(b"a", None)], (b"zzz", None))  # unbounded covers unbounded
    assert not covers([(b"a", b"z")], (b"b", None))
    assert not covers([], (b"a", b"a\0"))
    assert covers([(b"k", b"k\0")], interval(b"k", b""))
    assert not covers([(b"k", b"k\0")], interval(b"k", b"\0"))


def _state() -> AuthState:
    st = AuthState()
    for op, *args in (("user_add", "root", "h"), ("user_grant", "root", "root"),
                      ("role_add", "reader"), ("role_grant", "reader", 0, b"app/", b"app0"),
                      ("role_add", "writer"), ("role_grant", "writer", 1, b"app/x", b""),
                      ("user_add", "alice", "h"), ("user_grant", "alice", "reader"),
                      ("user_add", "bob", "h"), ("user_grant", "bob", "reader"),
                      ("user_grant", "bob", "writer")):
        assert st.apply(op, list(args)) is None, (op, args)
    return st


def test_permissions_are_the_union_of_the_users_roles_by_type() -> None:
    st = _state()
    assert st.revision == 11
    assert st.permitted("alice", R, b"app/x", b"")
    assert st.permitted("alice", R, b"app/", b"app0")  # get app/ --prefix
    assert not st.permitted("alice", R, b"app/", b"\0")  # app0 and beyond are not granted
    assert not st.permitted("alice", R, b"other", b"")
    assert not st.permitted("alice", W, b"app/x", b"")  # read-only
    assert st.permitted("bob", W, b"app/x", b"") and not st.permitted("bob", W, b"app/y", b"")
    assert not st.permitted("bob", W, b"app/x", b"app/y")  # a range past the one key
    assert st.permitted("root", W, b"", b"\0")  # the root role may do everything
    assert not st.permitted("nobody", R, b"app/x", b"")
    assert st.apply("role_grant", ["reader", 2, b"app/", b"app0"]) is None  # now readwrite
    assert st.permitted("alice", W, b"app/z", b"")
    assert [p.type for p in st.roles["reader"]] == [RW]  # replaced, not added


def test_enable_requires_root_with_the_root_role_and_root_is_protected() -> None:
    st = AuthState()
    assert st.apply("enable", []) is AuthError.ROOT_USER_MISSING
    st.apply("user_add", ["root", "h"])
    assert st.apply("enable", []) is AuthError.ROOT_ROLE_MISSING
    assert not st.enabled and st.revision == 1  # refusals change nothing
    st.apply("user_grant", ["root", "root"])
    assert st.apply("enable", []) is None and st.enabled
    assert st.apply("user_delete", ["root"]) is AuthError.INVALID_MGMT
    assert st.apply("user_revoke", ["root", "root"]) is AuthError.INVALID_MGMT
    assert st.apply("disable", []) is None and not st.enabled
    assert st.apply("user_revoke", ["root", "root"]) is None


def test_refusals_carry_etcds_errors() -> None:
    st = _state()
    before = st.dump()
    cases = [
        ("user_add", ["", "h"], AuthError.USER_EMPTY),
        ("user_add", ["alice", "h"], AuthError.USER_EXISTS),
        ("user_delete", ["carol"], AuthError.USER_NOT_FOUND),
        ("user_grant", ["alice", "nosuch"], AuthError.ROLE_NOT_FOUND),
        ("user_revoke", ["alice", "writer"], AuthError.ROLE_NOT_GRANTED),
        ("role_add", [""], AuthError.ROLE_EMPTY),
        ("role_add", ["reader"], AuthError.ROLE_EXISTS),
        ("role_revoke", ["reader", b"zzz", b""], AuthError.PERMISSION_NOT_GRANTED),
        ("role_grant", ["reader", 7, b"k", b""], AuthError.MALFORMED),
        ("role_grant", ["reader", 0, "k", b""], AuthError.MALFORMED),
        ("user_add", [5, "h"], AuthError.MALFORMED),
        ("no_such_op", [], AuthError.MALFORMED),
    ]
    for op, args, error in cases:
        assert st.apply(op, args) is error, (op, args)
    assert st.dump() == before
    assert AuthError.PERMISSION_DENIED.value == ("PERMISSION_DENIED",
                                                 "etcdserver: permission denied")
    assert AuthError.INVALID_TOKEN.grpc_code == "UNAUTHENTICATED"


def test_deleting_a_role_revokes_it_from_every_user() -> None:
    st = _state()
    assert st.apply("role_delete", ["reader"]) is None
    assert st.users["alice"].roles == [] and st.users["bob"].roles == ["writer"]
    assert not st.permitted("alice", R, b"app/x", b"")


def test_revoking_a_permission_takes_the_exact_key_and_range() -> None:
    st = _state()
    assert st.apply("role_revoke", ["reader", b"app/", b""]) is AuthError.PERMISSION_NOT_GRANTED
    assert st.apply("role_revoke", ["reader", b"app/", b"app0"]) is None
    assert st.roles["reader"] == [] and not st.permitted("alice", R, b"app/x", b"")


def test_dump_load_round_trip_is_exact_and_malformed_state_is_refused() -> None:
    st = _state()
    st.apply("enable", [])
    copy = AuthState()
    copy.load(st.dump())
    assert copy.dump() == st.dump() and copy.enabled and copy.revision == st.revision
    assert copy.permitted("alice", R, b"app/q", b"")
    for bad in (None, [True, 1, [], []][:3], [True, 1, [["u", 5, []]], []],
                [True, 1, [], [["r", [[0, "k", b""]]]]], [1, 1, [], []]):
        with pytest.raises(ValueError):
            AuthState().load(bad)


def test_op_entries_round_trip_and_garbage_is_none() -> None:
    data = encode_op("role_grant", "r", 2, b"a", b"b", request_id=77)
    assert decode_op(data) == (77, "role_grant", ["r", 2, b"a", b"b"])
    assert decode_op(b"QU\xc1") is None and decode_op(b"QU") is None


def test_passwords_are_salted_scrypt_hashes() -> None:
    h1, h2 = hash_password("s3cret"), hash_password("s3cret")
    assert h1 != h2 and h1.startswith("scrypt$16384$8$1$") and "s3cret" not in h1
    assert check_password(h1, "s3cret") and check_password(h2, "s3cret")
    assert not check_password(h1, "s3cret ") and not check_password(h1, "")
    assert not check_password("", "") and not check_password("scrypt$x", "a")
    assert hash_password("pw", salt=b"\0" * 16) == hash_password("pw", salt=b"\0" * 16)

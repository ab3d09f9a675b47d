"""The Raft paper's Figure 8 (Ongaro and Ousterhout, 2014, section 5.4.2) as a trace of
this spec: the steps, as the model prints their labels, that lead three servers through
the figure's four phases.

With the ``commit-old-term`` mutant (a leader commits an entry of an earlier term by
counting its replicas) the 52 states end in a violation of LeaderCompleteness; with
Raft's own rule the same steps commit nothing and violate nothing.  ``quorum example
figure8`` tells it phase by phase; ``tests/spec/raft/test_mutants.py`` checks it (its
length, that no step can be left out, that Raft is safe on it).  Built by hand: the
checker's simulation finds the bug too, in longer traces.
"""

from __future__ import annotations

__all__ = ["FIGURE_8", "figure_8_labels"]


def _vote(c: str, v: str, term: int, last_term: int, last_index: int,
          voter_log: str) -> list[str]:
    """The steps of candidate c winning v's vote: its request sent and received (twice when
    v must first catch up with the term), and v's response received."""
    request = (f"RequestVoteRequest({c}->{v}, mterm={term}, mlastLogTerm={last_term}, "
               f"mlastLogIndex={last_index})")
    steps = [f"RequestVote(i='{c}', j='{v}')", f"Receive(m='{request}')"]
    if c != v:
        steps.append(f"Receive(m='{request}')")
    response = f"RequestVoteResponse({v}->{c}, mterm={term}, mvoteGranted=True, mlog={voter_log})"
    return [*steps, f"Receive(m='{response}')"]


def _append(src: str, dst: str, term: int, prev: int, prev_term: int, entries: str,
            log: str, commit: int) -> str:
    return (f"Receive(m='AppendEntriesRequest({src}->{dst}, mterm={term}, mprevLogIndex={prev}, "
            f"mprevLogTerm={prev_term}, mentries={entries}, mlog={log}, "
            f"mcommitIndex={commit})')")


#: the paper's four phases on three servers: (caption, the steps as the model prints them)
FIGURE_8: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("(a) s1 leads term 2 and appends 2:v1, which reaches nobody.", (
        "Timeout(i='s1')", *_vote("s1", "s1", 2, 0, 0, "<<>>"),
        *_vote("s1", "s3", 2, 0, 0, "<<>>"), "BecomeLeader(i='s1')",
        "ClientRequest(i='s1', v='v1')")),
    ("(b) s2 leads term 3 with s3's vote and appends 3:v1, which reaches nobody either.", (
        "Timeout(i='s2')", "Timeout(i='s2')", *_vote("s2", "s2", 3, 0, 0, "<<>>"),
        *_vote("s2", "s3", 3, 0, 0, "<<>>"), "BecomeLeader(i='s2')",
        "ClientRequest(i='s2', v='v1')")),
    ("(c) s1 restarts and leads term 4 (its last term 2 beats s3's empty log), copies 2:v1 "
     "to s3, and, counting the majority {s1, s3} that holds it, commits it: the mutant's "
     "step. Raft would not: 2:v1 is not of term 4.", (
        "Restart(i='s1')", "Timeout(i='s1')", "Timeout(i='s1')",
        *_vote("s1", "s1", 4, 2, 1, "<<2:v1>>"), *_vote("s1", "s3", 4, 2, 1, "<<>>"),
        "BecomeLeader(i='s1')", "AppendEntries(i='s1', j='s3')",
        _append("s1", "s3", 4, 1, 2, "<<>>", "<<2:v1>>", 0),
        "Receive(m='AppendEntriesResponse(s3->s1, mterm=4, msuccess=False, mmatchIndex=0)')",
        "AppendEntries(i='s1', j='s3')", _append("s1", "s3", 4, 0, 0, "<<2:v1>>", "<<2:v1>>", 0),
        _append("s1", "s3", 4, 0, 0, "<<2:v1>>", "<<2:v1>>", 0),
        "Receive(m='AppendEntriesResponse(s3->s1, mterm=4, msuccess=True, mmatchIndex=1)')",
        "AdvanceCommitIndex(i='s1')")),
    ("(d) s2 restarts and leads term 5: s3 votes for it, since s2's last term 3 beats s3's "
     "last term 2. The new leader's log holds 3:v1 where s1 committed 2:v1, and it would "
     "overwrite 2:v1 everywhere.", (
        "Restart(i='s2')", "Timeout(i='s2')", "Timeout(i='s2')",
        *_vote("s2", "s2", 5, 3, 1, "<<3:v1>>"), *_vote("s2", "s3", 5, 3, 1, "<<2:v1>>"),
        "BecomeLeader(i='s2')")),
)


def figure_8_labels() -> list[str]:
    """Every step's label, in order (51 steps after the initial state)."""
    return [label for _, steps in FIGURE_8 for label in steps]

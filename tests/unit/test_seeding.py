"""simsampling.seeding: numpy's SeedSequence state for the package's streams, the same to the bit."""

from __future__ import annotations

import pickle

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling import seeding
from simsampling.random import STREAMS, point_key, point_streams, stream, stream_number

# Seeds and spawn-key numbers of every length in 32-bit words the package uses (a point key of one
# or two words, a named stream's 2**64 + hash of three), and longer.
numbers = st.one_of(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**64 - 1),
    st.integers(2**64, 2**65 - 1),
    st.integers(0, 2**200),
)


def numpy_stream(seed: int, replication: int, point_id: str, name: str) -> np.random.Generator:
    """A stream as it was built before: numpy's own SeedSequence."""
    key = (replication, point_key(point_id), stream_number(name))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=seed, spawn_key=key)))


@settings(max_examples=300, deadline=None)
@given(seed=numbers, key=st.lists(numbers, max_size=5).map(tuple))
def test_the_state_is_numpys(seed, key):
    expected = np.random.SeedSequence(entropy=seed, spawn_key=key).generate_state(4, np.uint64)
    state = seeding.generate_state(seed, key)
    assert state.dtype == np.uint64
    np.testing.assert_array_equal(state, expected)


@settings(max_examples=100, deadline=None)
@given(seed=numbers, key=st.lists(numbers, min_size=1, max_size=4).map(tuple), last=numbers)
def test_mixing_a_key_in_parts_is_mixing_it_whole(seed, key, last):
    pool, step = seeding.mixed(seed, key)
    more, _ = seeding.mix_in(pool, step, seeding.words(last))
    np.testing.assert_array_equal(seeding.state(more), seeding.generate_state(seed, key + (last,)))



@settings(max_examples=200, deadline=None)
@given(seed=numbers, key=st.lists(numbers, min_size=1, max_size=4).map(tuple), last=numbers)
def test_mixing_words_hashed_ahead_is_mixing_them(seed, key, last):
    """The words' half of the mixing done ahead (``hashed_words``), then the pool's (``hashed_state``): numpy's state
    of the whole key."""
    pool, step = seeding.mixed(seed, key)
    hashed = seeding.hashed_words(step, tuple(seeding.words(last)))
    assert len(hashed) == 4 * len(seeding.words(last))
    np.testing.assert_array_equal(seeding.hashed_state(pool, hashed), seeding.generate_state(seed, key + (last,)))


@settings(max_examples=200, deadline=None)
@given(seed=numbers, key=st.lists(numbers, min_size=1, max_size=4).map(tuple),
       lasts=st.lists(st.one_of(st.sampled_from([0, 1, 2**31, 2**32 - 1]), st.integers(0, 2**32 - 1)), max_size=40))
def test_one_word_states_at_once_are_each_mixed_alone(seed, key, lasts):
    """``states_of`` a ``one_word_table``: each row the state of the key and that one word, numpy's."""
    pool, step = seeding.mixed(seed, key)
    states = seeding.states_of(pool, seeding.one_word_table(step, lasts))
    assert states.dtype == np.uint64 and states.shape == (len(lasts), 4)
    for row, last in zip(states, lasts):
        np.testing.assert_array_equal(row, seeding.hashed_state(pool, seeding.hashed_words(step, (last,))))
        np.testing.assert_array_equal(row, seeding.generate_state(seed, key + (last,)))


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**63 - 1),
    replication=st.integers(0, 1000),
    point_id=st.text(min_size=1, max_size=12),
    name=st.one_of(st.sampled_from(sorted(STREAMS)), st.text(min_size=1, max_size=20).map("stage:{}".format)),
)
def test_a_stream_is_the_one_numpy_seeds(seed, replication, point_id, name):
    expected = numpy_stream(seed, replication, point_id, name)
    for built in (stream(seed, replication, point_id, name), point_streams(seed, replication, point_id)(name)):
        assert built.bit_generator.state == expected.bit_generator.state
        np.testing.assert_array_equal(built.random(4), numpy_stream(seed, replication, point_id, name).random(4))


def test_every_numbered_stream_of_a_point_is_numpys():
    streams = point_streams(20211225, 3, "xa-0001")
    for name in STREAMS:
        assert streams(name).bit_generator.state == numpy_stream(20211225, 3, "xa-0001", name).bit_generator.state


def test_a_points_streams_asked_in_any_order_and_again_are_numpys():
    """The numbered streams' states are made together at the first asked (named or numbered): each stream the
    same whichever comes first, asked again a fresh stream from its start."""
    for first in ("stage:own", "swab", "disinfection", "show_up"):
        streams = point_streams(5, 2, f"order-{first}")
        for name in (first, *reversed(list(STREAMS)), "swab", "stage:own"):
            expected = numpy_stream(5, 2, f"order-{first}", name)
            np.testing.assert_array_equal(streams(name).random(3), expected.random(3))


def test_a_stream_asked_for_other_words_answers_as_numpys_seed_sequence():
    """Another bit generator (or another state size) gets numpy's SeedSequence's answer."""
    seeded = point_streams(7, 1, "p")("swab").bit_generator.seed_seq
    reference = np.random.SeedSequence(entropy=7, spawn_key=(1, point_key("p"), STREAMS["swab"]))
    for words, dtype in ((8, np.uint32), (2, np.uint64), (4, np.uint32), (4, np.uint64)):
        np.testing.assert_array_equal(seeded.generate_state(words, dtype), reference.generate_state(words, dtype))
    np.testing.assert_array_equal(np.random.MT19937(seeded).random_raw(8), np.random.MT19937(reference).random_raw(8))


def test_a_stream_spawns_as_numpys():
    built = stream(11, 2, "p", "swab")
    reference = numpy_stream(11, 2, "p", "swab")
    for _ in range(2):  # spawning again goes on from the children spawned
        for child, expected in zip(built.spawn(2), reference.spawn(2)):
            np.testing.assert_array_equal(child.random(3), expected.random(3))


def test_a_stream_pickles_to_the_same_draws():
    rng = stream(1, 0, "p1", "swab")
    rng.random(3)
    again = pickle.loads(pickle.dumps(rng))
    np.testing.assert_array_equal(again.random(5), rng.random(5))

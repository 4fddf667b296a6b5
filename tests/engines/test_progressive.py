"""The progressive schedule: stages in images shown, fade-in, and a pure function of epoch and iteration."""

from __future__ import annotations

import pytest

from medmonai.engines import ProgressiveSchedule
from medmonai.errors import ConfigError


def test_stages_fade_in_and_end_at_the_last_stage():
    schedule = ProgressiveSchedule(images=[40, 80, 80], batch_size=[4, 4, 2], fade_fraction=0.5)
    # 5 iterations per epoch: stage 0 needs ceil(40 / 20) = 2 epochs, stage 1 4 epochs, stage 2 8 epochs
    assert schedule.stage_epochs(5) == [2, 4, 8] and schedule.total_epochs(5) == 14
    seen = [schedule.progress(epoch, (epoch - 1) * 5 + i, 5) for epoch in range(1, 16) for i in range(1, 6)]
    assert [p.stage for p in seen[:10]] == [0] * 10 and all(p.alpha == 1.0 for p in seen[:10])
    stage1 = [p for p in seen if p.stage == 1]
    assert len(stage1) == 20 and stage1[0].alpha == pytest.approx(0.1) and stage1[9].alpha == 1.0
    assert all(a.alpha <= b.alpha for a, b in zip(stage1, stage1[1:], strict=False))  # fades in monotonically
    assert {p.batch_size for p in seen if p.stage == 2} == {2}
    assert seen[-1].stage == 2 and seen[-1].alpha == 1.0  # past the schedule: the last stage


def test_a_schedule_must_reach_the_networks_final_stage():
    schedule = ProgressiveSchedule(images=[10, 10], batch_size=4)
    schedule.check_reaches(2)
    with pytest.raises(ConfigError, match=r"the schedule has 2 stages but the networks have 4"):
        schedule.check_reaches(4)


@pytest.mark.parametrize(
    "images, batch, fade, message",
    [
        ([], 4, 0.5, "stages need images >= 1"),
        ([10, 0], 4, 0.5, "stages need images >= 1"),
        ([10, 10], [4], 0.5, "2 stages of images but 1 batch sizes"),
        ([10], 4, 1.5, r"fade_fraction must be in \[0, 1\]"),
    ],
)
def test_bad_schedules_are_named(images, batch, fade, message):
    with pytest.raises(ConfigError, match=message):
        ProgressiveSchedule(images, batch, fade)

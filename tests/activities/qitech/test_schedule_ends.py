"""The simulation's and the issuance's answers parsed only as far as a loan reads their schedules
(``client.schedule_ends``): the loan's options come out the same as from the whole answer, on seed
004's own answers (§3's simulation, §4's issuance)."""

from __future__ import annotations

import copy
from typing import Any

from activities.qitech.client import schedule_ends
from activities.qitech.mapping import priced
from activities.qitech.models.debt import DebtAnswer
from activities.qitech.models.simulation import SimulationResult
from tests.seed_examples import examples

SIMULATION = next(e for e in examples("004") if e.line == 410).obj
ISSUANCE = next(e for e in examples("004") if e.line == 1599).obj


def _numbers(answer: SimulationResult | DebtAnswer) -> list[list[int]]:
    return [[i.installment_number for i in o.installments] for o in answer.data.disbursement_options]


def test_the_simulation_cut_to_each_schedules_ends_prices_as_the_whole_answer() -> None:
    whole = SimulationResult.model_validate(copy.deepcopy(SIMULATION))
    cut = SimulationResult.model_validate(schedule_ends(copy.deepcopy(SIMULATION)))
    assert _numbers(whole) == [[1, 2, 3, 4]] * 4  # the seed prints 4 options of 4 installments
    assert _numbers(cut) == [[1, 4]] * 4
    assert priced(cut.data.disbursement_options) == priced(whole.data.disbursement_options)


def test_the_issuance_cut_to_its_schedules_ends_prices_as_the_whole_answer() -> None:
    whole = DebtAnswer.model_validate(copy.deepcopy(ISSUANCE))
    cut = DebtAnswer.model_validate(schedule_ends(copy.deepcopy(ISSUANCE)))
    assert all(len(n) > 2 for n in _numbers(whole))
    assert [len(n) for n in _numbers(cut)] == [2] * len(_numbers(whole))
    assert priced(cut.data.disbursement_options) == priced(whole.data.disbursement_options)


def test_an_installment_in_between_is_not_read() -> None:
    answer: Any = copy.deepcopy(SIMULATION)
    answer["data"]["disbursement_options"][0]["installments"][1]["installment_number"] = "not a number"
    cut = SimulationResult.model_validate(schedule_ends(answer))
    assert _numbers(cut)[0] == [1, 4]


def test_answers_without_a_schedule_pass_unchanged() -> None:
    bodies: list[Any] = [{}, {"data": None}, {"data": {"disbursement_options": [{"installments": None}, "odd"]}}, []]
    for body in bodies:
        assert schedule_ends(copy.deepcopy(body)) == body

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.documents import (
    InvalidDocumentError,
    is_valid_cpf,
    keyed_hash,
    mask_cpf,
    normalize_cnpj,
    normalize_cpf,
)

# CPFs printed in the seeds (borrowers, legal representatives, signers).
SEED_CPFS = ["14950479032", "14471835092", "45102538004", "19125869086", "12345678909", "37197645832"]


@pytest.mark.parametrize("cpf", SEED_CPFS)
def test_the_seeds_sample_cpfs_are_valid(cpf: str) -> None:
    assert normalize_cpf(cpf) == cpf


def test_formatting_is_accepted_and_removed() -> None:
    assert normalize_cpf("969.698.790-03") == "96969879003"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("12345678900", "check digits"),  # the TED-refusal example's destination document
        ("12345678901", "check digits"),  # the PATCH collateral example's document_number
        ("1495047903", "11 digits"),
        ("1495047903a", "11 digits"),
        ("11111111111", "all digits equal"),
    ],
)
def test_invalid_cpfs_say_why(value: str, why: str) -> None:
    with pytest.raises(InvalidDocumentError, match=why):
        normalize_cpf(value)


def _cpf_with_digits(base: list[int]) -> str:
    def digit(values: list[int]) -> int:
        weights = range(len(values) + 1, 1, -1)
        remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
        return 0 if remainder < 2 else 11 - remainder

    first = digit(base)
    second = digit([*base, first])
    return "".join(map(str, [*base, first, second]))


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9).filter(lambda d: len(set(d)) > 1))
def test_any_cpf_with_right_check_digits_is_valid_and_one_changed_digit_breaks_it(base: list[int]) -> None:
    cpf = _cpf_with_digits(base)
    assert is_valid_cpf(cpf)
    tampered = cpf[:10] + str((int(cpf[10]) + 1) % 10)
    assert not is_valid_cpf(tampered)


@pytest.mark.parametrize("cnpj", ["32402502000135", "18533555000164", "32.402.502/0001-35"])
def test_the_seeds_company_numbers_are_valid_cnpjs(cnpj: str) -> None:
    assert normalize_cnpj(cnpj).isdigit()


def test_the_subcorban_placeholder_in_seed_001_is_not_a_valid_cnpj() -> None:
    with pytest.raises(InvalidDocumentError, match="check digits"):
        normalize_cnpj("12123456000101")


def test_alphanumeric_cnpj_from_july_2026() -> None:
    # Receita Federal's published example for the new format (IN RFB 2.229/2024).
    assert normalize_cnpj("12.ABC.345/01DE-35") == "12ABC34501DE35"
    with pytest.raises(InvalidDocumentError):
        normalize_cnpj("12.ABC.345/01DE-36")


def test_mask_keeps_only_the_middle_digits() -> None:
    assert mask_cpf("14950479032") == "***.504.790-**"
    assert "14950479032" not in mask_cpf("14950479032")


def test_keyed_hash_is_stable_per_key_and_different_across_keys() -> None:
    assert keyed_hash("149.504.790-32", b"k1") == keyed_hash("14950479032", b"k1")
    assert keyed_hash("14950479032", b"k1") != keyed_hash("14950479032", b"k2")

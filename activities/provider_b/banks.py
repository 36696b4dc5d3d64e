"""ISPB numbers by COMPE bank code, for ``client.bank_account.ispb_number`` (seed 003 §1).

The loan's accounts name a bank by its 3-digit COMPE code; the second provider also wants the
bank's ISPB (the 8-digit identifier in the Brazilian payment system). An account that gives its
ISPB (``DisbursementAccount.ispb_number``) is sent as given; otherwise this table answers for the
banks INSS benefits are most often paid into (public data from the Central Bank's participant
list). A bank outside it makes the mapping refuse the loan naming the field, rather than guess.
"""

from __future__ import annotations

from types import MappingProxyType

ISPB_BY_BANK_CODE: MappingProxyType[str, str] = MappingProxyType(
    {
        "001": "00000000",  # Banco do Brasil
        "033": "90400888",  # Santander
        "041": "92702067",  # Banrisul
        "070": "00000208",  # BRB
        "077": "00416968",  # Banco Inter
        "104": "00360305",  # Caixa Econômica Federal
        "237": "60746948",  # Bradesco
        "260": "18236120",  # Nu Pagamentos
        "336": "31872495",  # C6 Bank
        "341": "60701190",  # Itaú Unibanco (seed 003's example)
        "748": "01181521",  # Sicredi
        "756": "02038232",  # Sicoob
    }
)


def ispb_for(bank_code: str) -> str | None:
    return ISPB_BY_BANK_CODE.get(bank_code.zfill(3))

"""The second sandbox's state and behaviour, without HTTP: tokens, products, operations, faults.

An operation's status is read off the clock: it shows each status of its scenario for
``step_seconds`` and stays at the last one (an operation that waits for formalization stays at the
first until it is formalized, then moves on from there). Nothing runs in the background.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from devtools.sandbox.clock import CLOCK
from devtools.sandbox.journal import Durable
from devtools.sandbox_b import manual
from devtools.sandbox_b.models import OperationRequest, Product, Refusal, SimulationRequest, products
from devtools.sandbox_b.pricing import PriceRefused, Terms, price
from devtools.sandbox_b.scenarios import Faults, Scenario, default_scenario
from devtools.sandbox_b.settings import SandboxBSettings

DEFAULT_PRODUCTS: list[dict[str, Any]] = [
    {
        "cod_tabela": "200010",
        "description": "INSS NOVO 84X",
        "number_of_installments": [84],
        "monthly_interest_rate": Decimal("0.0179"),
    },
    {
        "cod_tabela": "200020",
        "description": "INSS NOVO 96X",
        "number_of_installments": [96],
        "monthly_interest_rate": Decimal("0.0179"),
    },
    {
        "cod_tabela": "200030",
        "description": "INSS NOVO TAXA REDUZIDA",
        "number_of_installments": [84, 96],
        "monthly_interest_rate": Decimal("0.0166"),
    },
]
"""The product table the sandbox answers (``models.Product``: an assumed shape; the rates are ours, under the cap)."""


@dataclass
class Operation:
    debt_key: str
    num_contrato: str
    cpf: str
    request: OperationRequest
    scenario: Scenario
    step_seconds: float
    created_at: datetime
    # Wall-clock seconds (not monotonic): they keep their meaning in a restarted process (state_path).
    started: float = field(default_factory=time.time)
    formalized: float | None = None

    @property
    def waits_for_formalization(self) -> bool:
        return self.scenario.outcome == "formalization"

    def index(self, at: float | None = None) -> int:
        statuses = self.scenario.statuses()
        moment = time.time() if at is None else at
        if self.waits_for_formalization:
            if self.formalized is None:
                return 0
            steps = 1 + int((moment - self.formalized) / self.step_seconds)
        else:
            steps = int((moment - self.started) / self.step_seconds)
        return min(steps, len(statuses) - 1)

    def status(self) -> str:
        return self.scenario.statuses()[self.index()]

    def formalize(self) -> None:
        if self.formalized is None:
            self.formalized = time.time()


class SandboxB(Durable):
    # Its state for SANDBOX_B_STATE_PATH (sandbox.journal: dicts entry by entry, the rest whole). An
    # operation's statuses follow from its wall-clock times, so there are no timers to carry: a
    # restarted sandbox answers as this one would.
    DURABLE_KEYED = ("scenarios", "_budgets", "operations", "_tokens")
    DURABLE_SINGLE = ("products", "global_faults", "_next_contract", "token_counts", "price_drift", "_simulated")

    def __init__(self, settings: SandboxBSettings, table: list[Product] | None = None) -> None:
        self.settings = settings
        self.products: list[Product] = table or products(DEFAULT_PRODUCTS)
        self.scenarios: dict[str, Scenario] = {}
        self.global_faults = Faults()
        self._budgets: dict[str, dict[str, int]] = {}
        self.operations: dict[str, Operation] = {}
        self._next_contract = 142_115_893
        self._tokens: dict[str, float] = {}
        self.token_counts = {"issued": 0, "refused": 0, "expired": 0}
        # Per cod_tabela: amounts added to the simulation's answer (a provider pricing its own way).
        self.price_drift: dict[str, dict[str, Decimal]] = {}
        # The issue amounts the simulation answered, by (cod_tabela, installments, disbursement date,
        # installment, released amount): a creation must send one of them.
        self._simulated: set[tuple[str, int, str, Decimal, Decimal, Decimal]] = set()

    # ------------------------------------------------------------ scenarios and faults

    def set_scenario(self, cpf: str, scenario: Scenario) -> None:
        self.scenarios[cpf] = scenario
        faults = scenario.faults or Faults()
        self._budgets[cpf] = {
            "fail_5xx": faults.fail_5xx,
            "fail_401": faults.fail_401,
            "lose_creation_answer": faults.lose_creation_answer,
        }

    def clear_scenario(self, cpf: str) -> None:
        self.scenarios.pop(cpf, None)
        self._budgets.pop(cpf, None)

    def set_global_faults(self, faults: Faults) -> None:
        self.global_faults = faults
        self._budgets["*"] = {
            "fail_5xx": faults.fail_5xx,
            "fail_401": faults.fail_401,
            "lose_creation_answer": faults.lose_creation_answer,
        }

    def scenario(self, cpf: str) -> Scenario:
        return self.scenarios.get(cpf) or default_scenario(cpf)

    def faults_for(self, cpf: str | None, header: Faults | None = None) -> Faults:
        scenario = self.scenarios.get(cpf or "")
        return self.global_faults.merged(scenario.faults if scenario else None).merged(header)

    def budget(self, cpf: str) -> dict[str, int]:
        return dict(self._budgets.get(cpf, {}))

    def take_budget(self, cpf: str | None, name: str, header: Faults | None) -> bool:
        """Whether this call spends one of the scope's N injected failures of this kind."""
        if header is not None and getattr(header, name) > 0:
            return True
        for scope in (cpf or "", "*"):
            budget = self._budgets.get(scope)
            if budget and budget.get(name, 0) > 0:
                budget[name] -= 1
                return True
        return False

    # ------------------------------------------------------------ tokens

    def login(self, username: str, password: str) -> dict[str, Any]:
        valid_user = secrets.compare_digest(username.encode(), self.settings.username.encode())
        valid_password = secrets.compare_digest(password.encode(), self.settings.password.get_secret_value().encode())
        if not (valid_user and valid_password):
            self.token_counts["refused"] += 1
            raise Refusal(401, manual.BAD_CREDENTIALS, "invalid username or password", "Unauthorized")
        token = secrets.token_urlsafe(32)
        self._tokens[token] = time.time() + self.settings.token_ttl_seconds
        self.token_counts["issued"] += 1
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.settings.token_ttl_seconds}

    def check_token(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expires is None or expires <= time.time():
            raise Refusal(401, manual.REFUSED_TOKEN, "missing, expired or invalid token", "Unauthorized")

    def expire_tokens(self) -> int:
        """Every token issued so far expires now (the client still believes in its own)."""
        expired = len(self._tokens)
        self._tokens.clear()
        self.token_counts["expired"] += expired
        return expired

    # ------------------------------------------------------------ operations

    def product(self, cod_tabela: str) -> Product | None:
        return next((p for p in self.products if p.cod_tabela == cod_tabela), None)

    def _product(self, cod_tabela: str, installments: int) -> Product:
        product = self.product(cod_tabela)
        if product is None:
            raise Refusal(400, manual.VALIDATION_ERROR, f"'{cod_tabela}' is not a product in operation.cod_tabela")
        if not product.allows(installments):
            raise Refusal(
                400,
                manual.VALIDATION_ERROR,
                f"{installments} is not one of {product.number_of_installments} "
                f"for product {product.cod_tabela} in operation.number_of_installments",
            )
        return product

    def simulate(self, request: SimulationRequest) -> dict[str, Any]:
        """The simulation's answer (assumed shape): the loan priced at the product's rate as the sandbox
        reads seeds 003 and 004 (``pricing``), plus the product's drift, if any."""
        product = self._product(request.cod_tabela, request.number_of_installments)
        fixed = request.fixed()
        if fixed is None:
            raise Refusal(
                400,
                manual.VALIDATION_ERROR,
                f"'{request.simulation_type}' is a required property in operation.{request.simulation_type}",
            )
        fixes_installment = request.simulation_type == "installment_face_value"
        terms = Terms(
            monthly_rate=product.monthly_interest_rate,
            number_of_installments=request.number_of_installments,
            disbursement_date=request.disbursement_date,
            first_due_date=request.first_due_date,
            installment=fixed if fixes_installment else None,
            released=None if fixes_installment else fixed,
        )
        try:
            priced = price(terms, self.settings.deductions(), self.settings.date_rules())
        except PriceRefused as error:
            raise Refusal(400, manual.CANNOT_PRICE, str(error)) from None
        figures = {
            "issue_amount": priced.issue_amount,
            "disbursed_amount": priced.released,
            "installment_face_value": priced.installment,
            "iof_amount": priced.iof,
            "monthly_interest_rate": priced.monthly_rate,
            "monthly_cet": priced.monthly_cet,
            "annual_cet": priced.annual_cet,
        }
        for name, delta in self.price_drift.get(product.cod_tabela, {}).items():
            if name in figures:
                figures[name] += delta
        self._simulated.add(
            (
                product.cod_tabela,
                request.number_of_installments,
                request.disbursement_date.isoformat(),
                figures["installment_face_value"],
                figures["disbursed_amount"],
                figures["issue_amount"],
            )
        )
        return {
            "disbursement_date": priced.disbursement_date.isoformat(),
            "first_due_date": priced.first_due_date.isoformat(),
            "last_due_date": priced.last_due_date.isoformat(),
            **figures,
        }

    def create(self, request: OperationRequest) -> Operation:
        operation = request.operation
        self._product(operation.cod_tabela, operation.number_of_installments)
        simulated = (
            operation.cod_tabela,
            operation.number_of_installments,
            operation.disbursement_date.isoformat(),
            operation.installment_face_value,
            operation.disbursed_amount,
            operation.issue_amount,
        )
        if simulated not in self._simulated:
            # Observação 7: the issue amount comes from the simulation's answer.
            raise Refusal(
                400,
                manual.VALIDATION_ERROR,
                f"issue_amount {operation.issue_amount} is not what the simulation answered in operation.issue_amount",
            )
        cpf = request.client.document_number
        scenario = self.scenario(cpf)
        created = Operation(
            debt_key=str(uuid.uuid4()),
            num_contrato=f"{self._next_contract:010d}/T",
            cpf=cpf,
            request=request,
            scenario=scenario,
            step_seconds=scenario.step_seconds or self.settings.step_seconds,
            created_at=CLOCK.wall(),
        )
        self.operations[created.debt_key] = created
        self._next_contract += 1
        return created

    def operation(self, debt_key: str) -> Operation:
        found = self.operations.get(debt_key)
        if found is None:
            raise Refusal(
                404, manual.NOT_FOUND, f"operation {debt_key} not found", "Not Found", "Operacao nao encontrada"
            )
        return found

    def link_form(self, operation: Operation) -> str:
        return f"{self.settings.base_url}/formalizacao/{operation.debt_key}"

    def answer(self, operation: Operation) -> dict[str, Any]:
        """The creation answer and the status answer (seed 003 "Dados relevantes" fields, and two more)."""
        return {
            "debt_key": operation.debt_key,
            "link_form": self.link_form(operation),
            "num_contrato": operation.num_contrato,
            "dsc_situacao_emprestimo": operation.status(),
            "cod_tabela": operation.request.operation.cod_tabela,
        }

    def listed(self, operation: Operation) -> dict[str, Any]:
        """An operation as the (assumed) lookup by CPF lists it: enough to recognise one's own."""
        request = operation.request.operation
        return {
            **self.answer(operation),
            "benefit_number": request.benefit_number,
            "number_of_installments": request.number_of_installments,
            "issue_amount": str(request.issue_amount),
            "created_at": operation.created_at.isoformat(),
        }

    def summary(self, operation: Operation) -> dict[str, Any]:
        """What a test needs to see (``/_sandbox/operations``): never the borrower's data beyond the CPF."""
        request = operation.request.operation
        return {
            "debt_key": operation.debt_key,
            "num_contrato": operation.num_contrato,
            "document_number": operation.cpf,
            "status": operation.status(),
            "step": operation.index(),
            "statuses": list(operation.scenario.statuses()),
            "cod_tabela": request.cod_tabela,
            "number_of_installments": request.number_of_installments,
            "issue_amount": str(request.issue_amount),
            "in100": request.in100,
            "created_at": operation.created_at.isoformat(),
            "formalized": operation.formalized is not None,
        }

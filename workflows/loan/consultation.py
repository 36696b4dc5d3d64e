"""The IN100 consultation a loan starts with (the benefits, then the balance, within the consultation
deadline): a stage of its own so that every product that consults the benefit runs the same code."""

from __future__ import annotations

from temporalio import workflow

from workflows.loan.core import LoanCore, ends

with workflow.unsafe.imports_passed_through():
    from activities.qitech.adapter import LoanActivities
    from workflows.loan.activity_models import ConsultationInput, TermUploadInput
    from workflows.loan.state import Stage, Status


class Consultation(LoanCore):
    async def _consultation(self) -> None:
        state = self._state
        if state.consultation_deadline is None:
            state.consultation_deadline = workflow.now() + self._policy.consultation_timeout
        deadline = self._deadline_timer(state.consultation_deadline, "consultation deadline")
        term = self._request.authorization_term.document
        if term is not None and state.term_document_key is None:
            uploaded = await self._call(
                LoanActivities.upload_authorization_term, TermUploadInput(request_key=state.request_key, term=term)
            )
            state.term_document_key = uploaded.document_key
        if state.benefits_request_key is None:
            created = await self._call(LoanActivities.request_benefits, self._consultation_input())
            state.benefits_request_key = created.key
            self._drain()
        await self._wait(
            lambda: state.listed_benefits is not None or state.consultation_failure is not None or deadline.done()
        )
        if state.listed_benefits is None and state.consultation_failure is None:
            raise ends(Status.REJECTED, f"consultation_timeout: no benefits answer by {state.consultation_deadline}")
        if state.consultation_failure:
            raise ends(Status.REJECTED, f"benefits request failed: {state.consultation_failure}")
        if not state.balance_request_keys:
            created = await self._call(LoanActivities.request_balance, self._consultation_input())
            state.balance_request_keys.append(created.key)
            self._drain()
        await self._wait(lambda: state.balance is not None or state.balance_failure is not None or deadline.done())
        if state.balance is None and state.balance_failure is None:
            raise ends(Status.REJECTED, f"consultation_timeout: no balance answer by {state.consultation_deadline}")
        deadline.cancel()
        if state.balance_failure:
            raise ends(Status.REJECTED, f"balance request failed: {state.balance_failure}")
        self._enter(Stage.SIMULATION)

    def _consultation_input(self, attempt: int = 0) -> ConsultationInput:
        state = self._state
        return ConsultationInput(
            loan_id=self._loan_id,
            request=self._request,
            attempt=attempt,
            benefit_number=state.corrected_benefit_number,
            term_document_key=state.term_document_key,
        )

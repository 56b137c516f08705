"""Sellers' payout accounts: a Stripe Connect Express account per seller (created
once, however often they click), the link to Stripe's onboarding, and the account
re-read from Stripe after onboarding or an `account.updated` event."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import User
from marketplace.core.models import utcnow
from marketplace.orders.models import SellerAccount, StripeEvent
from marketplace.orders.operations.base import OrderJobs


class SellerAccounts(OrderJobs):
    """Onboarding sellers and keeping their payout state as Stripe says it is."""

    def seller_account(self, user_id: int) -> SellerAccount | None:
        return self.session.get(SellerAccount, user_id)

    def start_onboarding(self, user: User) -> tuple[SellerAccount, str]:
        """A Connect Express account for the seller (created once) and a fresh link
        to Stripe's onboarding for it."""
        account = self.seller_account(user.id)
        if account is None:
            remote = self._provider(self.payments.create_account, user_id=user.id, email=user.email)
            account = SellerAccount(
                user_id=user.id,
                stripe_account_id=remote.id,
                charges_enabled=remote.charges_enabled,
                payouts_enabled=remote.payouts_enabled,
                details_submitted=remote.details_submitted,
            )
            try:
                with self.session.begin_nested():
                    self.session.add(account)
                    self.session.flush()
            except IntegrityError:
                # A second click got here first; the provider's idempotency key
                # gave both the same account.
                account = self.session.get(SellerAccount, user.id)
                if account is None:
                    raise
        url = self._provider(
            self.payments.create_account_link,
            account.stripe_account_id,
            refresh_url=self.links.payouts_refresh(),
            return_url=self.links.payouts_return(),
        )
        return account, self.links.absolute(url)

    def refresh_account(self, stripe_account_id: str) -> SellerAccount | None:
        """Re-read an account from Stripe (after onboarding or `account.updated`)."""
        account = self.session.scalar(
            select(SellerAccount)
            .where(SellerAccount.stripe_account_id == stripe_account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if account is None:
            return None
        remote = self._provider(self.payments.retrieve_account, stripe_account_id)
        account.charges_enabled = remote.charges_enabled
        account.payouts_enabled = remote.payouts_enabled
        account.details_submitted = remote.details_submitted
        account.updated_at = utcnow()
        self.session.flush()
        return account

    def _on_account(self, row: StripeEvent) -> str:
        """`account.updated`: the account as Stripe has it now."""
        if not row.object_id:
            return "no account id"
        account = self.refresh_account(row.object_id)
        if account is None:
            return "unknown account"
        return "can be paid" if account.can_be_paid else "cannot be paid yet"

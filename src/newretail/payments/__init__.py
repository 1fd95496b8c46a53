"""Payments: customer wallets, a double-entry ledger, payment providers (wallet, Alipay, test), refunds.

Other contexts call :mod:`newretail.payments.services` (``authorise_order``, ``capture_order``,
``void_authorisation``, ``refund_payment``) and listen to :mod:`newretail.payments.events`.
"""

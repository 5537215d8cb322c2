"""The kernel of the economy: the rules every agent and the model share, with no agents in it.

`economy.ledger` is the double-entry ledger, `economy.accounting` the stake methods, regimes
and statement rules, `economy.contracts` the compute contracts (backlog), `economy.valuation`
the fundamental and the investors' valuations (pure functions), `economy.market` the share
register and weekly clearing, `economy.rounds` the pricing of funding rounds (pure functions)
and `economy.errors` the errors a user can cause. Imports run one way: runs -> model ->
agents -> economy; nothing here imports from the packages above it.
"""

"""Repositories: one per aggregate, taking and returning the frozen records of ``domain``, so
that services hold no SQL. (Being introduced aggregate by aggregate: ``messages`` first.)"""

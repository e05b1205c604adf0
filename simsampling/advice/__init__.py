"""Advice: what limits a round, and which change to make (levers, their impact, moves between points)."""

"""The check engine's machinery, shared by the checks: reading the note, the tabular's axes, refinement.

Nothing here is a check and nothing here registers one; a check module imports what it needs from
here and declares its ID, actions and references itself (see ``vma.checks``).
"""

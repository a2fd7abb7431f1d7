"""Modal decisions: each ``…Dialog`` is a ``ModalScreen[T]`` that returns its result via
``dismiss`` (certificate, consultation, material/补登, next applicant, idle lock).

Dialogs that write (certificate, consultation, material) do the write themselves through a
callable the screen hands them, in a worker, and close only when it succeeded: a refusal is
shown in the dialog, which keeps every field as typed (:class:`~counter_tui.dialogs.base.WriteDialog`).
Dialogs never import the database layer.
"""

"""Reading clinical notes: sections, sentences, negation and time statements.

Notes arrive as free text with headings (``ASSESSMENT AND PLAN``, ``HPI:``) or
as a dict of sections. Checks ask questions such as "what does the assessment
say about the elbow?" or "how many minutes did the provider document?"; this
module answers them without any knowledge of codes.
"""

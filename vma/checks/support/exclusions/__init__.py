"""The Excludes1 decision (Guideline I.A.12.a): pairs of chart codes the tabular never reports together, what the note says of each, and which the record keeps."""

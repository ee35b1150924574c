"""The sex and age edits (CMS MCE) and what the note says of the patient: the machinery of the sex-age check."""

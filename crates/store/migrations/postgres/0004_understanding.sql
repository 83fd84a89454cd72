-- What Hark read in each message: personal data spans (card numbers, IBANs,
-- phones, emails, order numbers) as JSON byte ranges of the text. Language,
-- sentiment and intent already have their columns.
ALTER TABLE messages ADD COLUMN personal_data TEXT NOT NULL DEFAULT '[]';

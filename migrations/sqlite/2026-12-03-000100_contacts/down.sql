DROP INDEX conversations_contact_id; DROP TABLE contacts;

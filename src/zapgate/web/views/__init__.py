"""Wire views: domain records to the API's JSON shapes (camelCase, ISO-8601 times), and request
parameters to domain queries. Shared by the API and the dashboard."""

import type { HttpClient } from './app.js';

// Introspection as another service calls it: HTTP Basic with an INTROSPECTION_CLIENTS pair.

export const INTROSPECTION_CLIENT = { id: 'billing', secret: 'billing-secret-0123456789-abcdefgh' };
/** The INTROSPECTION_CLIENTS value of the test apps: two clients. */
export const INTROSPECTION_CLIENTS = `${INTROSPECTION_CLIENT.id}:${INTROSPECTION_CLIENT.secret},search:search-secret-0123456789-abcdefghij`;
export const INTROSPECT = '/api/v1/auth/introspect';

/** Form-encoded, as OAuth clients send it. */
export const introspectRequest = (t: HttpClient, token: unknown, client = INTROSPECTION_CLIENT) =>
  t.http().post(INTROSPECT).auth(client.id, client.secret).type('form').send({ token });

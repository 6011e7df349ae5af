// A service's own program, written against the SDK @hey-api/openapi-ts generates into ./client
// from openapi.json: one step a line of JSON on stdout, for whoever runs it to check.
import { client } from './client/client.gen.js';
import { introspect, login, logout, me, register } from './client/index.js';

const { AUTH_API_URL, EMAIL, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET } = process.env;
if (!AUTH_API_URL || !EMAIL || !INTROSPECTION_CLIENT_ID || !INTROSPECTION_CLIENT_SECRET) {
  throw new Error('set AUTH_API_URL, EMAIL, INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET');
}
const password = 'correct horse battery staple';
let accessToken: string | undefined;

// The SDK asks for credentials per security scheme the document declares on each operation.
client.setConfig({
  baseUrl: AUTH_API_URL,
  auth: ({ scheme }) => (scheme === 'basic' ? `${INTROSPECTION_CLIENT_ID}:${INTROSPECTION_CLIENT_SECRET}` : accessToken),
});

const report = (step: string, result: { response?: Response; data?: unknown; error?: unknown }) =>
  console.log(JSON.stringify({ step, status: result.response?.status, body: result.data ?? result.error }));

report('register', await register({ body: { email: EMAIL, password } }));

const loggedIn = await login({ body: { email: EMAIL, password } });
report('login', loggedIn);
accessToken = loggedIn.data?.data?.accessToken;
const token = accessToken;
if (!token) throw new Error('login answered no access token');

report('me', await me());
report('introspect', await introspect({ body: { token } }));
report('logout', await logout());
report('me after logout', await me());
report('introspect after logout', await introspect({ body: { token } }));

import { API } from '../support/requests.js';

// The routes the fuzz aims at, and paths beside them.



/** `{id}` in a path stands for a session id made from the recipe's `id`. */
export const ID = '{id}';
export const ROUTES = {
  register: `${API}/register`,
  login: `${API}/login`,
  logout: `${API}/logout`,
  me: `${API}/me`,
  refresh: `${API}/refresh`,
  sessions: `${API}/sessions`,
  session: `${API}/sessions/${ID}`,
  password: `${API}/password`,
  health: '/health',
  docs: '/api/docs',
  docsJson: '/api/docs-json',
} as const;
export const OTHER_PATHS = [
  '/',
  '/api',
  API,
  `${API}/`,
  `${API}/sessions/`,
  `${API}/sessions/${ID}/extra`,
  `${ROUTES.me}/extra`,
  '/api/v2/auth/me',
  '/api/docs/swagger-ui.css',
  '/api/docs-yaml',
  '/favicon.ico',
];

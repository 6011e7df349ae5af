import type { AppParts } from './app.module.js';

// Your modules, migrations and entities (docs/extending.md). Upstream ships this file empty and
// never edits it, so pulling a new version of the project merges cleanly.
export const APP_PARTS: AppParts = {
  modules: [],
  migrations: [],
  entities: [],
};

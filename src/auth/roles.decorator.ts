import { SetMetadata } from '@nestjs/common';

export const ROLES = 'roles';

/**
 * Restricts a route (or every route of a controller) to users holding at least one of `roles`;
 * others get 403 "No tiene permiso para esta acción". Roles come from `users.roles`, read with the
 * session on every request, never from the token.
 */
export const Roles = (...roles: [string, ...string[]]) => SetMetadata(ROLES, roles);

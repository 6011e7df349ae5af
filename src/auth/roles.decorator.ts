import { SetMetadata } from '@nestjs/common';

export const ROLES = 'roles';

/** Any one of `roles`, read from `users.roles` on every request, never from the token; else 403. */
export const Roles = (...roles: [string, ...string[]]) => SetMetadata(ROLES, roles);

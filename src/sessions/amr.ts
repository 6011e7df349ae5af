/** RFC 8176 authentication method references, the ones this server records. */
export const AMR_VALUES = ['pwd', 'otp', 'hwk', 'swk', 'user', 'mfa', 'fed'] as const;

export type Amr = (typeof AMR_VALUES)[number];

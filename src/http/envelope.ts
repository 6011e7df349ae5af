export interface Envelope<T extends object = object> {
  success: boolean;
  message: string;
  data?: T;
  errors?: string[];
}

export function ok<T extends object>(message: string, data?: T): Envelope<T> {
  return data === undefined ? { success: true, message } : { success: true, message, data };
}

import 'reflect-metadata';
import { IsOptional, IsString } from 'class-validator';
import { describe, expect, it } from 'vitest';
import { AppException } from '../errors/app.exception.js';
import { validationPipe } from './validation.pipe.js';

class NamedDto {
  @IsOptional()
  @IsString()
  name?: string;
}

const body = { type: 'body', metatype: NamedDto } as const;

async function refusal(value: unknown): Promise<string[] | undefined> {
  try {
    await validationPipe().transform(value, body);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(AppException);
    return (err as AppException).options.errors;
  }
}

describe('validationPipe', () => {
  it.each(['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'constructor'])('refuses an extra key %s like any other extra key', async (key) => {
    expect(await refusal({ [key]: 'x' })).toStrictEqual([`${key} no está permitido`]);
  });

  it('refuses an ordinary extra key, and lets a declared one through as a DTO instance', async () => {
    expect(await refusal({ extra: 'x' })).toStrictEqual(['extra no está permitido']);
    await expect(validationPipe().transform({ name: 'Ana' }, body)).resolves.toStrictEqual(Object.assign(new NamedDto(), { name: 'Ana' }));
  });
});

import 'reflect-metadata';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

export class DatabaseConfig {
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsString()
  PGLITE_DATA_DIR: string = './.data/pglite';

  @IsInt()
  @Min(1)
  @Max(1000)
  DATABASE_POOL_SIZE: number = 10;

  /** false: the server refuses to start while a migration is pending (`npm run migrate` applies them). */
  @IsBoolean({ message: 'must be true or false' })
  MIGRATIONS_AT_START: boolean = true;
}

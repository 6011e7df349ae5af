import 'reflect-metadata';
import { IsBoolean, IsInt, Max, Min } from 'class-validator';

export class MetricsConfig {
  @IsBoolean({ message: 'must be true or false' })
  METRICS_ENABLED: boolean = false;

  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT: number = 9464;
}

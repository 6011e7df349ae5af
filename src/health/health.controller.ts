import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator.js';
import { ApiErrors, ApiSuccess } from '../common/api-responses.decorator.js';
import { ok } from '../common/envelope.js';
import { ErrorCode } from '../common/error-code.js';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
  ) {}

  /** 503 (through the exception filter) when the database does not answer within 1.5 s. */
  @Public()
  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness with a database ping' })
  @ApiSuccess(200, 'Servicio disponible', { status: 'ok', info: { database: { status: 'up' } } })
  @ApiErrors(ErrorCode.ServiceUnavailable)
  async check() {
    const result = await this.health.check([() => this.db.pingCheck('database', { timeout: 1500 })]);
    return ok('Servicio disponible', { status: result.status, info: result.info });
  }
}

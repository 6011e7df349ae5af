import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { AppException } from '../errors/app.exception.js';
import { ok } from '../http/envelope.js';
import { ErrorCode } from '../errors/error-code.js';
import { HealthStatusDto } from './health-status.dto.js';
import { ShutdownState } from '../shutdown/shutdown.state.js';

const AVAILABLE = 'Servicio disponible';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

  @Public()
  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness with a database ping' })
  @ApiSuccess(200, AVAILABLE, HealthStatusDto)
  @ApiErrors(ErrorCode.ServiceUnavailable)
  async checkHealth() {
    return this.pingDatabase();
  }

  // Touches nothing: a database outage must not get a healthy process restarted.
  @Public()
  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process serves requests, whatever the database does' })
  @ApiSuccess(200, AVAILABLE)
  liveness() {
    return ok(AVAILABLE);
  }

  @Public()
  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: 503 while the database does not answer or the server is shutting down' })
  @ApiSuccess(200, AVAILABLE, HealthStatusDto)
  @ApiErrors(ErrorCode.ServiceUnavailable)
  async readiness() {
    if (this.shutdown.shuttingDown) throw new AppException(ErrorCode.ServiceUnavailable);
    return this.pingDatabase();
  }

  private async pingDatabase() {
    const result = await this.health.check([() => this.db.pingCheck('database', { timeout: 1500 })]);
    return ok(AVAILABLE, { status: result.status, info: result.info });
  }
}

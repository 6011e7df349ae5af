import { Body, Controller, createParamDecorator, Delete, type ExecutionContext, Get, HttpCode, HttpStatus, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { SessionsQueryDto } from '../auth/dto/sessions-query.dto.js';
import { ErrorCode } from '../errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../http/api-responses.decorator.js';
import { ok } from '../http/envelope.js';
import { requesterOf } from '../http/requester.decorator.js';
import { AuditQuery, FindUsersQuery, SetRolesDto, WebhookDeliveriesQuery } from './admin.dto.js';
import { AdminService, type Operator } from './admin.service.js';

const CurrentOperator = createParamDecorator((_: unknown, ctx: ExecutionContext): Operator => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & { admin: string }>();
  return { ...requesterOf(request), admin: request.admin };
});

const COMMON = [ErrorCode.InvalidToken, ErrorCode.Internal] as const;

@ApiTags('admin')
@ApiBearerAuth()
@Controller('admin/v1')
export class AdminController {
  constructor(private readonly admin: AdminService) {}

  @Get('users')
  @ApiOperation({ summary: 'Find accounts by the start of their email' })
  @ApiSuccess(200, 'Usuarios')
  @ApiErrors(ErrorCode.InvalidRequest, ...COMMON)
  async findUsers(@Query() query: FindUsersQuery) {
    return ok('Usuarios', { users: await this.admin.findUsers(query.email) });
  }

  @Get('users/:id/sessions')
  @ApiOperation({ summary: "A user's sessions, as the user's own list pages them" })
  @ApiSuccess(200, 'Sesiones del usuario')
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.NotFound, ...COMMON)
  async listUserSessions(@Param('id') id: string, @Query() query: SessionsQueryDto) {
    return ok('Sesiones del usuario', await this.admin.listSessions(id, query.state ?? 'live', query.limit ?? 50, query.cursor));
  }

  @Delete('users/:id/sessions')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "End every session of a user (admin_revoked)" })
  @ApiSuccess(200, 'Sesiones cerradas')
  @ApiErrors(ErrorCode.NotFound, ...COMMON)
  async endUserSessions(@Param('id') id: string, @CurrentOperator() who: Operator) {
    return ok('Sesiones cerradas', { revokedSessions: await this.admin.endSessions(id, who) });
  }

  @Delete('users/:id/factors')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Remove every factor and recovery code of a user, and end every session (mfa_reset)" })
  @ApiSuccess(200, 'Factores eliminados')
  @ApiErrors(ErrorCode.NotFound, ...COMMON)
  async resetUserFactors(@Param('id') id: string, @CurrentOperator() who: Operator) {
    return ok('Factores eliminados', { revokedSessions: await this.admin.resetFactors(id, who) });
  }

  @Delete('sessions/:id')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'End one session (admin_revoked)' })
  @ApiSuccess(200, 'Sesión cerrada exitosamente')
  @ApiErrors(ErrorCode.NotFound, ...COMMON)
  async endAnySession(@Param('id') id: string, @CurrentOperator() who: Operator) {
    await this.admin.endSession(id, who);
    return ok('Sesión cerrada exitosamente');
  }

  @Post('users/:id/lock')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Lock an account: every session ends (account_locked); no login, no refresh' })
  @ApiSuccess(200, 'Cuenta bloqueada')
  @ApiErrors(ErrorCode.NotFound, ...COMMON)
  async lockUser(@Param('id') id: string, @CurrentOperator() who: Operator) {
    return ok('Cuenta bloqueada', { revokedSessions: await this.admin.lock(id, who) });
  }

  @Post('users/:id/unlock')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Unlock an account' })
  @ApiSuccess(200, 'Cuenta desbloqueada')
  @ApiErrors(ErrorCode.NotFound, ...COMMON)
  async unlockUser(@Param('id') id: string, @CurrentOperator() who: Operator) {
    await this.admin.unlock(id, who);
    return ok('Cuenta desbloqueada');
  }

  @Put('users/:id/roles')
  @ApiOperation({ summary: "Set a user's roles: they apply from the user's next request" })
  @ApiSuccess(200, 'Roles actualizados')
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.NotFound, ...COMMON)
  async setUserRoles(@Param('id') id: string, @Body() dto: SetRolesDto, @CurrentOperator() who: Operator) {
    await this.admin.setRoles(id, dto.roles, who);
    return ok('Roles actualizados', { roles: dto.roles });
  }

  @Get('audit')
  @ApiOperation({ summary: 'The audit log, newest first, paged by `after` (the previous page’s nextCursor)' })
  @ApiSuccess(200, 'Registro de auditoría')
  @ApiErrors(ErrorCode.InvalidRequest, ...COMMON)
  async auditLog(@Query() query: AuditQuery) {
    return ok('Registro de auditoría', await this.admin.auditLog(query, query.limit ?? 50));
  }

  @Get('webhooks')
  @ApiOperation({ summary: 'The webhook endpoints: disabled or not, deliveries pending and dead, configured on this instance or not' })
  @ApiSuccess(200, 'Webhooks')
  @ApiErrors(...COMMON)
  async webhooks() {
    return ok('Webhooks', { endpoints: await this.admin.webhookEndpoints() });
  }

  @Get('webhooks/deliveries')
  @ApiOperation({ summary: 'Webhook deliveries pending or given up (dead), newest first, paged by `cursor` (the previous page’s nextCursor)' })
  @ApiSuccess(200, 'Entregas de webhooks')
  @ApiErrors(ErrorCode.InvalidRequest, ...COMMON)
  async webhookDeliveries(@Query() query: WebhookDeliveriesQuery) {
    return ok('Entregas de webhooks', await this.admin.webhookDeliveries(query.status, query.limit ?? 50, query.cursor));
  }

  @Post('webhooks/:id/enable')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Enable a disabled webhook endpoint again: it gets the events from now on (earlier ones are in the feed)' })
  @ApiSuccess(200, 'Webhook habilitado')
  @ApiErrors(ErrorCode.NotFound, ...COMMON)
  async enableWebhook(@Param('id') id: string, @CurrentOperator() who: Operator) {
    await this.admin.enableWebhookEndpoint(id, who);
    return ok('Webhook habilitado');
  }
}

import { Body, Controller, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { ApiBasicAuth, ApiBody, ApiConsumes, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { OAUTH_ERROR_BODY } from '../errors/all-exceptions.filter.js';
import { AppException } from '../errors/app.exception.js';
import { ErrorCode } from '../errors/error-code.js';
import { FORM_BODY } from '../http/json-body.js';
import { BASIC } from '../http/swagger.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { AccessTokenService } from './access-token.service.js';
import { IntrospectDto, IntrospectionDto, OAuthErrorDto } from './dto/introspection.dto.js';
import { CLIENT_AUTH, IntrospectionClientGuard } from './introspection-client.guard.js';
import { Public } from './public.decorator.js';

const INACTIVE = { active: false } as const;


/** Token refusals are an answer here (`active: false`); only a fault of ours is an error. */
const refused = (err: unknown) => err instanceof AppException && (err.code === ErrorCode.InvalidToken || err.code === ErrorCode.TokenExpired);

@ApiTags('introspection')
@Controller('auth')
export class IntrospectionController {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly metrics: MetricsService,
  ) {}

  // Checked exactly as a request to /me would be at this instant.
  @Public()
  @UseGuards(IntrospectionClientGuard)
  @RouteConfig({ ...OAUTH_ERROR_BODY, ...FORM_BODY })
  @Post('introspect')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Introspect an access token (RFC 7662), for other services',
    description: `${CLIENT_AUTH} Form-encoded or JSON. Answers RFC 7662 JSON, not the envelope.`,
  })
  @ApiBasicAuth(BASIC)
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiBody({ type: IntrospectDto })
  @ApiResponse({ status: 200, description: 'Active, with its claims; or `{ "active": false }` for every token that would not pass', type: IntrospectionDto })
  @ApiResponse({ status: 400, description: 'No token, or a body that is not a form or JSON', type: OAuthErrorDto })
  @ApiResponse({ status: 401, description: 'Bad client credentials', type: OAuthErrorDto })
  @ApiResponse({ status: 408, description: 'The body came too slowly: `{ "error": "invalid_request" }`', type: OAuthErrorDto })
  @ApiResponse({ status: 413, description: 'The body is over the limit: `{ "error": "invalid_request" }`', type: OAuthErrorDto })
  @ApiResponse({
    status: 429,
    description: 'Too many failed client authentications from this address: `{ "error": "temporarily_unavailable" }`, with Retry-After',
    type: OAuthErrorDto,
  })
  @ApiResponse({ status: 500, description: 'The database did not answer: the token can be vouched for neither way', type: OAuthErrorDto })
  async introspect(@Body() { token }: IntrospectDto): Promise<IntrospectionDto> {
    try {
      const { principal, claims } = await this.tokens.inspect(token);
      const { exp, iat, iss, aud } = claims as { exp: number; iat: number; iss: string; aud: string };
      this.metrics.introspected(true);
      return { active: true, sub: principal.userId, sid: principal.sessionId, exp, iat, iss, aud, token_type: 'access_token' };
    } catch (err) {
      if (!refused(err)) throw err;
      this.metrics.introspected(false);
      return INACTIVE;
    }
  }
}

import { Controller, Get, Header } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { JwksDto } from './dto/jwks.dto.js';
import { Public } from './public.decorator.js';
import { type Jwks, SigningKeysService } from './signing-keys.service.js';

@ApiTags('introspection')
@Controller('.well-known')
export class JwksController {
  constructor(private readonly keys: SigningKeysService) {}

  // Not the envelope: JWKS clients read this document as is.
  @Public()
  @Get('jwks.json')
  @Header('cache-control', 'public, max-age=300')
  @ApiOperation({ summary: 'The public keys that verify access tokens (JWKS)' })
  @ApiResponse({ status: 200, description: 'A JSON Web Key Set', type: JwksDto })
  jwks(): Jwks {
    return this.keys.publicJwks();
  }
}

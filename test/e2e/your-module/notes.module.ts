import { Body, ConflictException, Controller, Get, HttpCode, Module, Post, UnprocessableEntityException } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { type Principal, CurrentPrincipal } from '../../../src/auth/principal.js';
import { Public } from '../../../src/auth/public.decorator.js';
import { Roles } from '../../../src/auth/roles.decorator.js';
import { ok } from '../../../src/http/envelope.js';

// The module docs/extending.md builds, step by step: a public route, an authenticated one, a
// role-restricted one, and errors of its own. test/e2e/your-module.e2e-spec.ts serves it beside
// the app.

export class CreateNoteDto {
  @IsString()
  @Length(1, 100)
  title: string;
}

@ApiTags('notes')
@ApiBearerAuth()
@Controller('notes')
export class NotesController {
  private readonly titles = new Set<string>();

  @Public()
  @Get('about')
  about() {
    return ok('Notas de ejemplo');
  }

  @Get('mine')
  mine(@CurrentPrincipal() principal: Principal) {
    return ok('Tus notas', { userId: principal.userId, sessionId: principal.sessionId, roles: principal.roles });
  }

  @Roles('editor')
  @Post()
  @HttpCode(201)
  create(@Body() note: CreateNoteDto) {
    if (this.titles.has(note.title)) throw new ConflictException('Ya existe una nota con ese título');
    if (note.title.trim() === '') throw new UnprocessableEntityException();
    this.titles.add(note.title);
    return ok('Nota creada', { title: note.title });
  }
}

@Module({ controllers: [NotesController] })
export class NotesModule {}

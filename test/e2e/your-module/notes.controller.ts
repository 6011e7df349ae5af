import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  UnprocessableEntityException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type Principal, CurrentPrincipal } from '../../../src/auth/principal.js';
import { Public } from '../../../src/auth/public.decorator.js';
import { Roles } from '../../../src/auth/roles.decorator.js';
import { StepUp } from '../../../src/auth/step-up.decorator.js';
import { ErrorCode } from '../../../src/errors/error-code.js';
import { ApiErrors, ApiSuccess } from '../../../src/http/api-responses.decorator.js';
import { ok } from '../../../src/http/envelope.js';
import { CreateNoteDto } from './create-note.dto.js';
import { NotesRepository } from './notes.repository.js';

export class NoteDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'Lista de la compra' })
  title: string;
}

const noteId = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException('El id de la nota no es válido') });

@ApiTags('notes')
@ApiBearerAuth()
@Controller('notes')
export class NotesController {
  constructor(private readonly notes: NotesRepository) {}

  @Public()
  @Get('about')
  aboutNotes() {
    return ok('Notas de ejemplo');
  }

  @Get('me')
  whoAmI(@CurrentPrincipal() principal: Principal) {
    return ok('Quién eres', { userId: principal.userId, sessionId: principal.sessionId, roles: principal.roles });
  }

  @Get()
  async listNotes(@CurrentPrincipal() principal: Principal) {
    return ok('Tus notas', { notes: await this.notes.list(principal.userId) });
  }

  // A recent proof on this session (RFC 9470): a token alone, however old, cannot take everything out.
  @StepUp()
  @Get('export')
  @ApiErrors(ErrorCode.InvalidToken, ErrorCode.StepUpRequired, ErrorCode.Internal)
  async exportNotes(@CurrentPrincipal() principal: Principal) {
    return ok('Exportación de tus notas', { notes: await this.notes.list(principal.userId) });
  }

  @Get(':id')
  async findNote(@CurrentPrincipal() principal: Principal, @Param('id', noteId) id: string) {
    const note = await this.notes.findOne(principal.userId, id);
    if (!note) throw new NotFoundException('La nota no existe');
    return ok('Nota', note);
  }

  @Roles('editor')
  @Post()
  @HttpCode(201)
  @ApiSuccess(201, 'Nota creada', NoteDto)
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.InvalidToken, ErrorCode.Forbidden, ErrorCode.Internal)
  @ApiResponse({ status: 409, description: 'Ya existe una nota con ese título' })
  async createNote(@CurrentPrincipal() principal: Principal, @Body() body: CreateNoteDto) {
    if (body.title.trim() === '') throw new UnprocessableEntityException();
    const note = await this.notes.create(principal.userId, body.title);
    if (!note) throw new ConflictException('Ya existe una nota con ese título');
    return ok('Nota creada', note);
  }
}

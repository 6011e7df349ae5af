export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function linkTo(page: string, token: string): string {
  const url = new URL(page);
  url.searchParams.set('token', token);
  return url.toString();
}

function message(to: string, subject: string, lines: string[], link: string, action: string): MailMessage {
  const text = [...lines, '', link, ''].join('\n');
  const html = `<!doctype html><html lang="es"><body style="font-family:sans-serif">${lines
    .map((line) => `<p>${escapeHtml(line)}</p>`)
    .join('')}<p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p><p style="color:#666;font-size:small">${escapeHtml(link)}</p></body></html>`;
  return { to, subject, text, html };
}

export function passwordResetMail(to: string, link: string, ttlSeconds: number): MailMessage {
  return message(
    to,
    'Restablecer la contraseña',
    [
      'Recibimos una solicitud para restablecer la contraseña de su cuenta.',
      `Use este enlace en los próximos ${Math.round(ttlSeconds / 60)} minutos; solo sirve una vez. Al usarlo se cerrarán todas sus sesiones.`,
      'Si no la solicitó, ignore este correo: su contraseña no cambiará.',
    ],
    link,
    'Restablecer la contraseña',
  );
}

export function emailVerificationMail(to: string, link: string, ttlSeconds: number): MailMessage {
  return message(
    to,
    'Verifique su correo electrónico',
    [
      'Confirme que esta dirección es suya para terminar de configurar su cuenta.',
      `El enlace vale ${Math.round(ttlSeconds / 3600)} horas y solo sirve una vez.`,
      'Si no creó una cuenta, ignore este correo.',
    ],
    link,
    'Verificar el correo',
  );
}

/** No link: nothing to click, so nothing a phishing copy could imitate. */
export function recoveryCodeUsedMail(to: string, remaining: number): MailMessage {
  const lines = [
    'Se inició sesión en su cuenta con un código de recuperación, y se cerraron todas sus otras sesiones.',
    remaining === 1 ? 'Le queda 1 código de recuperación.' : `Le quedan ${remaining} códigos de recuperación.`,
    'Si no fue usted, cambie su contraseña y genere nuevos códigos de recuperación cuanto antes.',
  ];
  const html = `<!doctype html><html lang="es"><body style="font-family:sans-serif">${lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('')}</body></html>`;
  return { to, subject: 'Se usó un código de recuperación', text: [...lines, ''].join('\n'), html };
}

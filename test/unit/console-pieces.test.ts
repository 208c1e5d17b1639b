import { esc, html, jsonBlock } from '../../src/console/html';
import { hashPassword, verifyPassword } from '../../src/console/passwords';
import { ABSOLUTE_MS, IDLE_MS, readCookie, sameText, SessionStore } from '../../src/console/sessions';

describe('when the console renders values into HTML', () => {
  it('then every interpolated value is escaped and only built fragments pass as markup', () => {
    const evil = `"><script>alert('x')</script>&`;
    expect(html`<td title="${evil}">${evil}</td>`.text).toBe(
      '<td title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</td>',
    );
    expect(html`<p>${html`<b>${'<i>'}</b>`}</p>`.text).toBe('<p><b>&lt;i&gt;</b></p>');
    expect(esc(42)).toBe('42');
  });

  it('then chart data cannot close its script block', () => {
    const block = jsonBlock('d', { outcome: '</script><script>alert(1)</script>' }).text;
    expect(block.match(/<\/script>/g)).toHaveLength(1);
    const json = block.slice(block.indexOf('>') + 1, block.lastIndexOf('</script>'));
    expect(JSON.parse(json)).toEqual({ outcome: '</script><script>alert(1)</script>' });
  });
});

describe('when a console password is checked', () => {
  it('then the right password matches, a wrong one, a missing user or a mangled hash does not', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false);
    expect(await verifyPassword('correct horse battery staple', undefined)).toBe(false);
    expect(await verifyPassword('correct horse battery staple', hash.replace(/.$/, 'A'))).toBe(false);
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
    expect(await hashPassword('correct horse battery staple')).not.toBe(hash); // salted
    await expect(hashPassword('short')).rejects.toThrow(/at least 12/);
  });
});

describe('when console sessions age', () => {
  it('then a session ends after the idle limit and after the absolute limit, and at sign-out', () => {
    let now = 1_000_000;
    const store = new SessionStore(() => now);
    const idle = store.create('a');
    now += IDLE_MS + 1;
    expect(store.touch(idle.id)).toBeUndefined();

    const busy = store.create('b');
    for (let t = 0; t < ABSOLUTE_MS; t += IDLE_MS / 2) {
      now += IDLE_MS / 2;
      if (t + IDLE_MS / 2 < ABSOLUTE_MS) expect(store.touch(busy.id)?.user).toBe('b');
    }
    now += IDLE_MS / 2;
    expect(store.touch(busy.id)).toBeUndefined();

    const ended = store.create('c');
    store.end(ended.id);
    expect(store.touch(ended.id)).toBeUndefined();
    expect(store.touch(undefined)).toBeUndefined();
  });

  it('then the sign-in token is bound to its pre-session cookie', () => {
    const store = new SessionStore();
    const token = store.signInToken('cookie-a');
    expect(store.checkSignInToken('cookie-a', token)).toBe(true);
    expect(store.checkSignInToken('cookie-b', token)).toBe(false);
    expect(store.checkSignInToken(undefined, token)).toBe(false);
    expect(store.checkSignInToken('cookie-a', undefined)).toBe(false);
    expect(new SessionStore().checkSignInToken('cookie-a', token)).toBe(false); // a restart
    expect(sameText('abc', ['abc'])).toBe(false);
    expect(readCookie('a=1; fg_console=xyz; b=2', 'fg_console')).toBe('xyz');
    expect(readCookie('xfg_console=1', 'fg_console')).toBeUndefined();
  });
});

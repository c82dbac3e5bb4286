using CommentFlow.Hosting;
using CommentFlow.Privacy;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CommentFlow.Tests.Privacy;

public sealed class PersonalDataMaskerTests
{
    private static readonly PersonalDataMasker Masker = new(Options.Create(new MaskingOptions()));

    /// <summary>Ticket sentences holding personal data or secrets, and exactly what is left of them.</summary>
    private static readonly (string Input, string Expected)[] MustMask =
    [
        ("Hola, soy Juan, podéis escribirme a juan.perez@empresa.es para cualquier duda.",
            "Hola, soy Juan, podéis escribirme a <email> para cualquier duda."),
        ("Please reply to maria.garcia+tickets@contoso.co.uk, not to the team alias.",
            "Please reply to <email>, not to the team alias."),
        ("Mi móvil es +34 612 345 678, llamadme por la tarde.", "Mi móvil es <phone>, llamadme por la tarde."),
        ("Llámenme al 612 34 56 78 a partir de las 16:00.", "Llámenme al <phone> a partir de las 16:00."),
        ("You can reach me at (555) 123-4567 between 9 and 5.", "You can reach me at <phone> between 9 and 5."),
        ("Please call our hotline 1-800-624-9897 or +44 20 7946 0958.", "Please call our hotline <phone> or <phone>."),
        ("Teléfono de contacto: 612345678", "Teléfono de contacto: <phone>"),
        ("Bitte rufen Sie mich unter 030 12345678 zurück.", "Bitte rufen Sie mich unter <phone> zurück."),
        ("Vous pouvez me joindre au 06 12 34 56 78 après 18h.", "Vous pouvez me joindre au <phone> après 18h."),
        ("El servidor 192.168.10.25 no responde al ping desde esta mañana.", "El servidor <ip> no responde al ping desde esta mañana."),
        ("No carga http://10.20.30.40:8080/login desde la oficina.", "No carga http://<ip>:8080/login desde la oficina."),
        ("The VPN client gets 2001:db8:85a3::8a2e:370:7334 instead of an internal address.",
            "The VPN client gets <ip> instead of an internal address."),
        ("He pagado con la tarjeta 4539 1488 0343 6467 y me han cobrado dos veces.",
            "He pagado con la tarjeta <card> y me han cobrado dos veces."),
        ("Card number 5555555555554444 was declined at checkout.", "Card number <card> was declined at checkout."),
        ("Por favor, devolved el importe a la cuenta ES91 2100 0418 4502 0005 1332.",
            "Por favor, devolved el importe a la cuenta <iban>."),
        ("Bitte erstatten Sie den Betrag auf DE89 3704 0044 0532 0130 00 zurück.", "Bitte erstatten Sie den Betrag auf <iban> zurück."),
        ("The job fails connecting to ftp://backup:S3cr3t!@files.contoso.com/nightly",
            "The job fails connecting to ftp://<credentials>@files.contoso.com/nightly"),
        ("Usuario: jlopez / contraseña: Verano2024! (no me deja entrar)", "Usuario: jlopez / contraseña: <secret> (no me deja entrar)"),
        ("Connection string: Server=db01;User Id=app;Password=Tr0ub4dor3;", "Connection string: Server=db01;User Id=app;Password=<secret>;"),
        ("pwd: hunter2 (the one from the onboarding mail)", "pwd: <secret> (the one from the onboarding mail)"),
        ("My new password is Summer2024, please reset it.", "My new password is <secret>, please reset it."),
        ("4. Connect to the printer Wi-Fi and enter the password '12345678'.", "4. Connect to the printer Wi-Fi and enter the password '<secret>'."),
        ("Das Passwort lautet Sommer2024!", "Das Passwort lautet <secret>"),
        ("Mon mot de passe : Soleil#2024 ne fonctionne plus.", "Mon mot de passe : <secret> ne fonctionne plus."),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "Authorization: Bearer <secret>"),
        ("La integración falla con api_key=3f9a8c7e6d5b4a39 en la cabecera.", "La integración falla con api_key=<secret> en la cabecera."),
        ("curl https://api.contoso.com/v1/orders?token=a1b2c3d4e5f6g7h8 devuelve 401",
            "curl https://api.contoso.com/v1/orders?token=<secret> devuelve 401"),
        ("Alguien pegó la clave sk-proj-4fGh7Jk9LmN2pQ5rS8tV1wX3yZ en el chat.", "Alguien pegó la clave <secret> en el chat."),
        ("Token de GitHub ghp_1A2b3C4d5E6f7G8h9I0jK1lM2nO3pQ4rS5tU en el log", "Token de GitHub <secret> en el log"),
        ("The pipeline log prints AKIAIOSFODNN7EXAMPLE in plain text.", "The pipeline log prints <secret> in plain text."),
        ("Minha senha é Brasil2024 e o e-mail é joao.silva@empresa.com.br.", "Minha senha é <secret> e o e-mail é <email>."),
    ];

    /// <summary>Look-alikes a masker must leave alone: versions, keys, dates, amounts, failed checksums, plain URLs, the word "password".</summary>
    private static readonly string[] MustNotMask =
    [
        "Tras actualizar a la v2.14.1 la aplicación se cierra al abrir informes.",
        "Kernel 4.18.0-147 on the app servers; rollback planned for Friday.",
        "El equipo tiene Windows 10.0.19045 y el error persiste.",
        "Relacionado con SD-1234 e INC0012345, mismo síntoma.",
        "El fallo empezó el 2024-01-15 a las 14:30 y volvió a ocurrir el 15/01/2024.",
        "Der Fehler trat am 15.01.2024 um 09:45 Uhr erneut auf.",
        "Se facturaron 1.234,56 € de más sobre un contrato de 12.500 EUR.",
        "We were charged $1,234.56 twice on invoice 2024-000123.",
        "Pedido 4539148803436468 sin entregar, seguimiento 1234567890123456.",
        "Log: 2024-01-15T14:30:00Z ERROR timeout after 30000 ms",
        "2024-01-15T14:30:00.123+01:00 request finished with HTTP 503",
        "CPU al 95% y memoria al 87,5% desde las 08:00.",
        "The API returns HTTP 404 and then 500 on retry.",
        "Ver la guía en https://support.contoso.com/kb/12345678 y https://docs.contoso.com/v2/setup?lang=es.",
        "I forgot my password and the reset link has expired.",
        "Olvidé mi contraseña y no me llega el correo de recuperación.",
        "The password is incorrect even after the reset.",
        "Das Passwort ist abgelaufen, bitte zurücksetzen.",
        "J'ai oublié mon mot de passe depuis la mise à jour 3.2.1.",
        "Token expired: please sign in again.",
        "Error 0x80300024 al instalar Windows 10 Pro.",
        "Se recomienda un bitrate entre 4500-9000 kbps para 1080p.",
        "Chrome 120.0.6099.129 muestra la página en blanco.",
        "La versión 10.0.0.1 del agente no arranca.",
        "Use a Bearer token in the Authorization header as described in the docs.",
        "Palabra clave: impresora",
        "El pedido 123456789 llegó incompleto.",
        "Factura 015/2024 pendiente de pago.",
        "std::vector throws at 12:00:01 in module A::B.",
        "Sessions dropped from 10:00 to 10:15 (UTC+01:00).",
    ];

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (var (input, expected) in MustMask.Concat(MustNotMask.Select(text => (text, text))))
        {
            cases.Add(input, expected);
        }
        return cases;
    }

    public static TheoryData<string> MaskedTexts() => new(MustMask.Select(c => c.Expected));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Mask_TicketSentence_ReplacesExactlyThePersonalData(string input, string expected) =>
        Assert.Equal(expected, Masker.Mask(input).Text);

    /// <summary>
    /// Each pattern searches from a little before the first trigger it needs (a digit, '@', a label's keyword). Behind
    /// 300 characters that hold none, each case's value is where the search starts, its label or local part before it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Mask_TicketSentenceBehindALongTriggerFreeText_SameResult(string input, string expected)
    {
        var filler = string.Concat(Enumerable.Repeat("Hola equipo, les escribo de nuevo porque el problema sigue igual que ayer. ", 4));
        Assert.Equal(filler + expected, Masker.Mask(filler + input).Text);
    }

    [Fact]
    public void Cases_Table_HoldsEnoughOfEach()
    {
        Assert.True(MustMask.Length >= 20, "at least 20 must-mask cases");
        Assert.True(MustNotMask.Length >= 20, "at least 20 must-not-mask cases");
        Assert.All(MustMask, c => Assert.NotEqual(c.Input, c.Expected));
    }

    [Theory]
    [MemberData(nameof(MaskedTexts))]
    public void Mask_AlreadyMaskedText_ChangesNothing(string masked)
    {
        var again = Masker.Mask(masked);

        Assert.Equal(masked, again.Text);
        Assert.Empty(again.Counts);
    }

    [Fact]
    public void Mask_SeveralKinds_CountsEachKind()
    {
        var result = Masker.Mask(
            "Contacto: ana@contoso.com, +44 20 7946 0958 y 612 345 678; desde 172.16.0.5 con password=Abc12345 y token: 9f8e7d6c5b4a.");

        Assert.Equal("Contacto: <email>, <phone> y <phone>; desde <ip> con password=<secret> y token: <secret>.", result.Text);
        Assert.Equal(
            new Dictionary<string, int>
            {
                [PersonalDataMasker.Email] = 1, [PersonalDataMasker.Phone] = 2, [PersonalDataMasker.Ip] = 1, [PersonalDataMasker.Secret] = 2,
            },
            result.Counts);
    }

    [Fact]
    public void Mask_NothingToMask_ReturnsSameTextAndNoCounts()
    {
        const string text = "La impresora de la planta 3 no imprime desde la actualización 2.1.";

        var result = Masker.Mask(text);

        Assert.Same(text, result.Text);
        Assert.Empty(result.Counts);
    }

    [Fact]
    public void Mask_Null_ReturnsEmpty()
    {
        var result = Masker.Mask(null);

        Assert.Equal("", result.Text);
        Assert.Empty(result.Counts);
    }

    [Fact]
    public void Mask_Disabled_LeavesTextAlone()
    {
        var masker = new PersonalDataMasker(Options.Create(new MaskingOptions { Enabled = false }));

        var result = masker.Mask("Escribidme a juan.perez@empresa.es");

        Assert.Equal("Escribidme a juan.perez@empresa.es", result.Text);
        Assert.Empty(result.Counts);
    }

    [Theory]
    [InlineData("4539 1488 0343 6467", "4539 1488 0343 6468")]
    [InlineData("5555-5555-5555-4444", "5555-5555-5555-4445")]
    [InlineData("3782 822463 10005", "3782 822463 10006")]
    [InlineData("4111111111111111", "4111111111111121")]
    public void Mask_CardNumber_MaskedOnlyWhenLuhnHolds(string valid, string oneDigitChanged)
    {
        Assert.Equal("Tarjeta <card> rechazada", Masker.Mask($"Tarjeta {valid} rechazada").Text);
        Assert.Equal($"Tarjeta {oneDigitChanged} rechazada", Masker.Mask($"Tarjeta {oneDigitChanged} rechazada").Text);
    }

    [Theory]
    [InlineData("ES91 2100 0418 4502 0005 1332", "ES91 2100 0418 4502 0005 1333")]
    [InlineData("ES7921000813610123456789", "ES7921000813610123456788")]
    [InlineData("DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 01")]
    [InlineData("GB29 NWBK 6016 1331 9268 19", "GB29 NWBK 6016 1331 9268 18")]
    [InlineData("FR14 2004 1010 0505 0001 3M02 606", "FR14 2004 1010 0505 0001 3M02 607")]
    public void Mask_Iban_MaskedOnlyWhenMod97Holds(string valid, string oneDigitChanged)
    {
        Assert.Equal("IBAN: <iban>, titular <name>", Masker.Mask($"IBAN: {valid}, titular <name>").Text);
        Assert.Equal($"IBAN: {oneDigitChanged}, titular <name>", Masker.Mask($"IBAN: {oneDigitChanged}, titular <name>").Text);
    }

    [Fact]
    public void Mask_IbanFollowedByNumbers_MasksOnlyTheCountryLength() =>
        Assert.Equal("Cuenta <iban> 1234 ref. pago", Masker.Mask("Cuenta ES91 2100 0418 4502 0005 1332 1234 ref. pago").Text);

    /// <summary>
    /// The IBAN, IPv6, labelled phone and labelled secret patterns are anchored and tried only where their start finders
    /// say a match can begin. On every text of the shared tickets and on random texts dense in the pieces those values
    /// and labels are made of, they find the very matches the unanchored pattern finds searching left to right (each
    /// search going on from the last match's end).
    /// </summary>
    [Fact]
    public void AnchoredPatterns_AtTheirStartFinders_FindWhatASearchFinds()
    {
        var shared = new[] { "tickets-en-de.csv", "tickets-multilang.csv" }
            .SelectMany(f => CommentFlow.Import.HistoryImport.ReadCsv(Path.Combine(Paths.Shared, "data", f), new CommentFlow.Import.ImportOptions(), DateTimeOffset.UnixEpoch))
            .Where(i => i.Sample is not null)
            .SelectMany(i => new[] { i.Sample!.Context.Summary, i.Sample.Context.Description }.Concat(i.Sample.Suggestions.Select(x => x.Text)));
        var random = new Random(7);
        // Random runs of characters and of the pieces IBANs, IPv6 addresses and labelled secrets are made of: most texts hold candidates.
        string[] pieces = ["E", "S", "9", "1", " ", ":", ".", "-", "_", "a", "\u212A", "é", "ES91", "DE89", "gb29", "2100", "0418", "NWBK", "ab:", "::", "1:", "fe80", "db8:",
            "tel", "Phone: ", "móvil ", "fax.", "12345678", "0049", "\u0663",
            "password", "Pwd", "PASS", "mot de passe", "palabras clave", "clave", "pin-code", " is ", " ist ", "=", ": ", "'", "\"", "“",
            "api_key", "client secret", "refresh_token", "X-Api-Key", "token", "session id", "Bearer ", "Proxy-Authorization: ", "basic ",
            "ab12cd34ef56", "Z9y8X7w6", "sk-", "ghp_", "xoxb-", "AKIA", "eyJhbGciOiJI", "ABCDEFGHIJKLMNOP0123456789abcdef", "_live_", "rk", "--"];
        var dense = Enumerable.Range(0, 20_000).Select(_ => string.Concat(Enumerable.Range(0, random.Next(0, 30)).Select(_ => pieces[random.Next(pieces.Length)])));
        // And phone labels before runs of digits of every length, with what may come between and after.
        string[] labels = ["tel", "Tel.", "phone number: ", "Teléfono de contacto ", "mobile#", "handy", "x", "", "whatsapp  "];
        string[] tails = ["", ".", ".5", " ", "a", "€", "/1", "\u0663"];
        var phones = Enumerable.Range(0, 5_000).Select(_ => pieces[random.Next(pieces.Length)] + labels[random.Next(labels.Length)]
            + new string('7', random.Next(5, 18)) + tails[random.Next(tails.Length)] + labels[random.Next(labels.Length)] + new string('3', random.Next(7, 10)));
        var texts = shared.Concat(dense).Concat(phones).Concat(["ES91 2100 0418 4502 0005 1332", "aES91 2100", "1::2", "::", "fe80::1%eth0 and 2001:db8::1", "DE8937040044053201300012"]).ToList();

        var anchoredPatterns = Masker.Anchored.ToList();
        Assert.Equal(7, anchoredPatterns.Count);
        foreach (var (anchored, starts) in anchoredPatterns)
        {
            var pattern = anchored.ToString();
            Assert.StartsWith(@"\G", pattern, StringComparison.Ordinal);
            var search = new System.Text.RegularExpressions.Regex(pattern[2..], anchored.Options);
            var finds = 0;
            foreach (var text in texts)
            {
                var expected = search.Matches(text).Select(m => (m.Index, m.Length)).ToList();
                var found = new List<(int, int)>();
                for (var m = PersonalDataMasker.MatchFrom(anchored, starts, text, 0); m is not null; m = PersonalDataMasker.MatchFrom(anchored, starts, text, PersonalDataMasker.End(m)))
                {
                    found.Add((m.Index, m.Length));
                }
                Assert.True(expected.SequenceEqual(found), $"{anchored}: {text}");
                finds += found.Count;
            }
            Assert.True(finds > 200, $"the texts hold many candidates of {anchored} ({finds} found)");
        }
    }

    [Fact]
    public void Mask_ManyThreads_SameResults()
    {
        var inputs = MustMask.Select(c => c.Input).ToArray();
        var expected = MustMask.Select(c => c.Expected).ToArray();

        Parallel.For(0, 2_000, i => Assert.Equal(expected[i % inputs.Length], Masker.Mask(inputs[i % inputs.Length]).Text));
    }

    [Fact]
    public async Task AddMasking_ExtraPatterns_MaskedWithTheirName()
    {
        using var host = await StartAsync(
            ("ExtraPatterns:customer", "CUST-[0-9]{6}"),
            ("ExtraPatterns:case_file", @"(?i)expediente:\s*(?<value>[0-9]{4,})"));
        var masker = host.Services.GetRequiredService<PersonalDataMasker>();

        var result = masker.Mask("El cliente CUST-004211 (expediente: 88231) escribe desde ana@contoso.com");

        Assert.Equal("El cliente <customer> (expediente: <case_file>) escribe desde <email>", result.Text);
        Assert.Equal(new Dictionary<string, int> { ["email"] = 1, ["customer"] = 1, ["case_file"] = 1 }, result.Counts);
        Assert.Equal(result.Text, masker.Mask(result.Text).Text);
    }

    [Theory]
    [InlineData("customer", "CUST-([0-9]{6}", "does not compile")]
    [InlineData("my-pattern", "CUST-[0-9]{6}", "name")]
    [InlineData("anything", "x*", "empty string")]
    [InlineData("word", @"\w+", "placeholder")]
    public async Task AddMasking_BadExtraPattern_StartRefusedNamingTheOption(string name, string pattern, string reason)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(($"ExtraPatterns:{name}", pattern)));

        Assert.Contains($"CommentFlow:Masking:ExtraPatterns:{name}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A host with only the masking wiring, started so that options are validated as at service start.</summary>
    private static async Task<IHost> StartAsync(params (string Key, string Value)[] settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create<string, string?>($"{MaskingOptions.Section}:{s.Key}", s.Value)));
        builder.AddMasking();
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}

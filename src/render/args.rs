//! The parsers of `render`'s option values.

pub(super) fn parse_size(s: &str) -> std::result::Result<u32, String> {
    match s {
        "256" => Ok(256),
        "512" => Ok(512),
        _ => Err(format!("{s:?}: expected 256 or 512")),
    }
}

pub(super) fn parse_zooms(s: &str) -> std::result::Result<(u8, u8), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let p = |v: &str| {
        v.trim()
            .parse::<u8>()
            .map_err(|_| format!("{s:?}: expected zooms A-B such as 0-16"))
    };
    let (a, b) = (p(a)?, p(b)?);
    if a > b || b > mlytiles_render::MAX_ZOOM {
        return Err(format!(
            "{s:?}: expected A <= B <= {}",
            mlytiles_render::MAX_ZOOM
        ));
    }
    Ok((a, b))
}

pub(super) fn parse_shard(s: &str) -> std::result::Result<(u64, u64), String> {
    let err = || format!("{s:?}: expected I/N with 0 <= I < N, such as 3/16");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let (i, n) = (
        i.parse::<u64>().map_err(|_| err())?,
        n.parse::<u64>().map_err(|_| err())?,
    );
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

pub(super) fn parse_colour(s: &str) -> std::result::Result<[u8; 4], String> {
    let h = s.trim_start_matches('#');
    let err = || format!("{s:?}: expected #RRGGBB or #RRGGBBAA");
    if !(h.len() == 6 || h.len() == 8) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err());
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).map_err(|_| err());
    Ok([
        byte(0)?,
        byte(2)?,
        byte(4)?,
        if h.len() == 8 { byte(6)? } else { 255 },
    ])
}

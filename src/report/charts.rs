//! Charts drawn with plotters, as SVG strings and PNG files, with an embedded font.

"""The report's rows, computed from what ``registry.reader.reporte`` read (pure polars).

Frames (one per sheet): ``por_rp``, ``por_rfc``, ``medios``, ``aclaraciones``, ``rechazos``.
Instants stay UTC-aware here; writers show them in America/Mexico_City.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from registry.reader.reenvios import PENDIENTES
from registry.states import ACTIVOS, Estado

TZ = "America/Mexico_City"
ACTIVOS_TXT = [str(e) for e in ACTIVOS]
VENTANA_ACLARACION = timedelta(hours=24)
NOMBRE_MECANISMO = {"correo": "el correo", "telefono": "el celular"}


@dataclass
class Lectura:
    """What the report reads from the store (see ``registry.reader.reporte``)."""

    particulares: pl.DataFrame
    registros: pl.DataFrame
    medios: pl.DataFrame
    alcances: pl.DataFrame
    actos: pl.DataFrame
    rechazos: pl.DataFrame


@dataclass
class Reporte:
    """The rows of each sheet, the chart's counts and the ``--json`` summary."""

    por_rp: pl.DataFrame
    por_rfc: pl.DataFrame
    medios: pl.DataFrame
    aclaraciones: pl.DataFrame
    rechazos: pl.DataFrame
    grafica: list[dict]
    resumen: dict


def _fecha_txt(col: pl.Expr) -> pl.Expr:
    return col.dt.convert_time_zone(TZ).dt.strftime("%d/%m/%Y %H:%M")


def _medios_con_actos(lect: Lectura, validity: timedelta) -> pl.DataFrame:
    """Media with their folios de validación / baja and ``plazo`` (the pending deadline)."""
    actos = lect.actos.sort("fecha")
    val = (
        actos.filter(pl.col("tipo") == "validacion")
        .group_by("medio_id")
        .agg(pl.col("folio").last().alias("folio_validacion"))
    )
    baja = (
        actos.filter(pl.col("tipo") == "baja")
        .group_by("medio_id")
        .agg(pl.col("folio").last().alias("folio_baja"), pl.col("fecha").last().alias("fecha_baja"))
    )
    pendiente = pl.col("estado").is_in(list(PENDIENTES))
    return (
        lect.medios.join(val, on="medio_id", how="left")
        .join(baja, on="medio_id", how="left")
        .with_columns(
            pl.when(pendiente)
            .then(pl.coalesce("vence_en", pl.col("fecha_registro") + validity))
            .alias("plazo"),
        )
    )


def _por_alcance(ma: pl.DataFrame) -> pl.DataFrame:
    """Per (rfc, rp) scope: counts and the earliest pending medium."""
    correo = pl.col("mecanismo") == "correo"
    tel = pl.col("mecanismo") == "telefono"
    validado = pl.col("estado") == str(Estado.VALIDADO)
    activo = pl.col("estado").is_in(ACTIVOS_TXT)
    pend = pl.col("plazo").is_not_null()
    orden = pl.col("plazo").fill_null(pl.datetime(9999, 1, 1, time_zone="UTC"))
    return ma.group_by("rfc", "rp").agg(
        (correo & validado).sum().cast(pl.Int64).alias("correos_validados"),
        (tel & validado).any().alias("celular_validado"),
        (correo & activo).any().alias("correo_activo"),
        (tel & activo).any().alias("celular_activo"),
        (correo & (pl.col("estado") == str(Estado.VENCIDO))).any().alias("correo_vencido"),
        (tel & (pl.col("estado") == str(Estado.VENCIDO))).any().alias("celular_vencido"),
        pend.sum().cast(pl.Int64).alias("pendientes"),
        (pl.col("estado") == str(Estado.VENCIDO)).sum().cast(pl.Int64).alias("vencidos"),
        (pl.col("estado") == str(Estado.NO_ENTREGADO)).sum().cast(pl.Int64).alias("no_entregados"),
        pl.col("plazo").min().alias("vence"),
        pl.col("mecanismo").sort_by(orden).first().alias("pend_mecanismo"),
        pl.col("medio").sort_by(orden).first().alias("pend_medio"),
    )


def _validar(prefix: str) -> pl.Expr:
    """'Validar el correo X antes del dd/mm/aaaa hh:mm' from the scope's earliest pending."""
    mec = pl.col(f"{prefix}pend_mecanismo").replace_strict(
        NOMBRE_MECANISMO, default="el medio", return_dtype=pl.String
    )
    return pl.concat_str(
        pl.lit("Validar "),
        mec,
        pl.lit(" "),
        pl.col(f"{prefix}pend_medio"),
        pl.lit(" antes del "),
        _fecha_txt(pl.col(f"{prefix}vence")),
    )


def _estado_rfc(p: pl.DataFrame, rfc_scope: pl.DataFrame) -> pl.DataFrame:
    """Per RFC: its scope's counts, ``estado`` and ``accion`` (None when nothing is pending)."""
    j = p.join(rfc_scope, on="rfc", how="left").with_columns(
        pl.col("correos_validados", "pendientes", "vencidos", "no_entregados").fill_null(0),
        pl.col(
            "celular_validado",
            "correo_activo",
            "celular_activo",
            "correo_vencido",
            "celular_vencido",
        ).fill_null(False),
    )
    listo = (pl.col("correos_validados") > 0) & pl.col("celular_validado")
    estado = (
        pl.when(pl.col("estado_particular") == "activado_previo")
        .then(pl.lit("activado_previo"))
        .when(pl.col("estado_particular") == "activado")
        .then(pl.lit("activado"))
        .when(listo)
        .then(pl.lit("pendiente_tc"))
        .otherwise(pl.lit("incompleto"))
    )
    j = j.with_columns(estado.alias("estado_rfc"))
    activado = pl.col("estado_rfc").is_in(["activado", "activado_previo"])
    accion = (
        pl.when(activado)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("vence").is_not_null())
        .then(_validar(""))
        .when(~pl.col("correo_activo") & pl.col("correo_vencido"))
        .then(pl.lit("Registrar de nuevo un correo electrónico para el RFC (el anterior venció)"))
        .when(~pl.col("correo_activo"))
        .then(pl.lit("Registrar un correo electrónico para el RFC"))
        .when(~pl.col("celular_activo") & pl.col("celular_vencido"))
        .then(pl.lit("Registrar de nuevo un teléfono celular (el anterior venció)"))
        .when(~pl.col("celular_activo"))
        .then(pl.lit("Registrar un teléfono celular"))
        .when(pl.col("estado_rfc") == "pendiente_tc")
        .then(pl.lit("Firmar los términos y condiciones con la e.firma"))
    )
    return j.with_columns(accion.alias("accion"))


def calcular(lect: Lectura, *, validity_hours: int = 72, max_wrong_codes: int = 5) -> Reporte:
    """Every sheet's rows and the ``--json`` summary."""
    validity = timedelta(hours=validity_hours)
    med = _medios_con_actos(lect, validity)
    ma = lect.alcances.join(med.drop("rfc"), on="medio_id", how="inner")
    alc = _por_alcance(ma)
    p = lect.particulares.rename({"estado": "estado_particular", "nombre": "razon_social"})
    rfc_scope = alc.filter(pl.col("rp").is_null()).drop("rp")
    por_rfc_full = _estado_rfc(p, rfc_scope)

    # --- Por RP -------------------------------------------------------------------------
    rfc_cols = por_rfc_full.select(
        "rfc",
        "razon_social",
        "estado_rfc",
        pl.col("accion").alias("rfc_accion"),
        pl.col("vence").alias("rfc_vence"),
        pl.col("pend_mecanismo").alias("rfc_pend_mecanismo"),
        pl.col("pend_medio").alias("rfc_pend_medio"),
    )
    rp_scope = alc.filter(pl.col("rp").is_not_null())
    rp = (
        lect.registros.join(rp_scope, on=["rfc", "rp"], how="left")
        .join(rfc_cols, on="rfc", how="left")
        .with_columns(
            pl.col("correos_validados", "pendientes", "vencidos", "no_entregados").fill_null(0),
            pl.col("celular_validado").fill_null(False),
        )
    )
    propio_antes = pl.col("vence").is_not_null() & (
        pl.col("rfc_vence").is_null() | (pl.col("vence") <= pl.col("rfc_vence"))
    )
    accion = (
        pl.when(propio_antes)
        .then(_validar(""))
        .when(pl.col("rfc_accion").is_not_null())
        .then(pl.col("rfc_accion"))
        .when(pl.col("no_entregados") > 0)
        .then(pl.lit("Presentar una aclaración por el medio no entregado"))
        .otherwise(pl.lit("Ninguna: el RFC está activado"))
    )
    por_rp = (
        rp.with_columns(
            accion.alias("siguiente_accion"),
            pl.min_horizontal("vence", "rfc_vence").alias("vence"),
            pl.when(pl.col("celular_validado"))
            .then(pl.lit("sí"))
            .otherwise(pl.lit("no"))
            .alias("celular_validado"),
            pl.col("rp").alias("registro_patronal"),
        )
        .select(
            "rfc",
            "razon_social",
            "registro_patronal",
            "correos_validados",
            "celular_validado",
            "pendientes",
            "vencidos",
            "no_entregados",
            "estado_rfc",
            "siguiente_accion",
            "vence",
        )
        .sort("rfc", "registro_patronal")
    )

    # --- Por RFC ------------------------------------------------------------------------
    por_rfc = (
        por_rfc_full.with_columns(
            pl.when(pl.col("celular_validado"))
            .then(pl.lit("sí"))
            .otherwise(pl.lit("no"))
            .alias("celular_validado"),
            pl.col("accion").fill_null("Ninguna: activado").alias("siguiente_accion"),
        )
        .select(
            "rfc",
            "razon_social",
            "correos_validados",
            "celular_validado",
            "pendientes",
            "vencidos",
            "no_entregados",
            pl.col("estado_rfc").alias("estado"),
            pl.col("tyc_folio").alias("folio_tyc"),
            pl.col("activado_en").alias("fecha_tyc"),
            "siguiente_accion",
            "vence",
        )
        .sort("rfc")
    )

    # --- Medios ("Mis medios"): one row per medium and scope ------------------------------
    medios_rows = (
        lect.alcances.join(med.drop("rfc"), on="medio_id", how="inner")
        .select(
            "folio_registro",
            "fecha_registro",
            "mecanismo",
            "medio",
            "rfc",
            pl.col("rp").alias("registro_patronal"),
            "estado",
            "fecha_envio",
            pl.col("plazo").alias("vence"),
            "fecha_validacion",
            "folio_validacion",
            "fecha_baja",
            "folio_baja",
        )
        .sort("rfc", "folio_registro", pl.col("registro_patronal"), nulls_last=False)
    )

    # --- Aclaraciones -------------------------------------------------------------------
    activos = (
        med.filter(pl.col("estado").is_in(ACTIVOS_TXT))
        .select("rfc", "mecanismo", "medio", pl.lit(True).alias("_reemplazado"))
        .unique()
    )
    agotado = (
        (pl.col("estado") == str(Estado.ENVIADO))
        & (pl.col("intentos_fallidos") >= max_wrong_codes)
        & ~pl.col("codigo_vivo")
    )
    causa = (
        pl.when(pl.col("estado") == str(Estado.NO_ENTREGADO))
        .then(pl.lit("no entregado"))
        .when(pl.col("estado") == str(Estado.VENCIDO))
        .then(pl.lit("venció sin validarse"))
        .when(agotado)
        .then(pl.lit("códigos agotados (intentos fallidos)"))
        .when(pl.col("aclaracion"))
        .then(pl.lit("requiere aclaración"))
    )
    desde = (
        pl.when(pl.col("estado") == str(Estado.VENCIDO))
        .then(pl.coalesce("vence_en", "actualizado_en"))
        .otherwise(pl.col("actualizado_en"))
    )
    rps_txt = (
        lect.alcances.filter(pl.col("rp").is_not_null())
        .group_by("medio_id")
        .agg(pl.col("rp").sort().str.join(",").alias("registros_patronales"))
    )
    acl = (
        med.with_columns(causa.alias("causa"), desde.alias("desde"))
        .filter(pl.col("causa").is_not_null())
        .join(activos, on=["rfc", "mecanismo", "medio"], how="left")
        .filter(pl.col("_reemplazado").is_null() | (pl.col("estado") == str(Estado.ENVIADO)))
        .join(p.select("rfc", "razon_social"), on="rfc", how="left")
        .join(rps_txt, on="medio_id", how="left")
        .select(
            "rfc",
            "razon_social",
            "mecanismo",
            "medio",
            "folio_registro",
            "estado",
            "causa",
            "motivo",
            "registros_patronales",
            "desde",
            (pl.col("desde") + VENTANA_ACLARACION).alias("hasta"),
        )
        .sort("desde", "rfc", "folio_registro")
    )

    por_estado = {s: 0 for s in (str(e) for e in Estado)}
    for estado, n in med.group_by("estado").len().iter_rows():
        por_estado[estado] = n
    resumen = {
        "rfcs": por_rfc.height,
        "rps": por_rp.height,
        "medios": med.height,
        "por_estado": por_estado,
        "activados": int(
            por_rfc.filter(pl.col("estado").is_in(["activado", "activado_previo"])).height
        ),
        "aclaraciones": acl.height,
    }
    rech = lect.rechazos.select(
        "archivo",
        "hoja",
        "fila",
        "columna",
        "valor",
        "codigo",
        "mensaje",
        pl.col("en").alias("fecha"),
    )
    grafica: dict[str, dict[str, int]] = {}
    for rfc, estado, n in med.group_by("rfc", "estado").len().iter_rows():
        grafica.setdefault(rfc, {})[estado] = n
    return Reporte(
        por_rp,
        por_rfc,
        medios_rows,
        acl,
        rech,
        [{"rfc": r, "por_estado": c} for r, c in sorted(grafica.items())],
        resumen,
    )

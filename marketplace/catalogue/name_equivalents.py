"""Names that mean the same thing to a collector: a place under its Russian,
Ukrainian, Belarusian, Estonian, English, German and French names and under its
Soviet-era and present-day names; a person under a diminutive; a month in the
languages legends are struck in. Facts, kept as data.

A pin that names one member of a group (in its city, title, legend or, for a
place, its notes) is indexed under every member, so «Київ», "Kyiv", «Киев» and
"Kiiev" all find the pins of Kyiv. Matching is word by word on stems, so a
legend's «КИЄВУ» or «ЛЕНИНГРАДА» counts as the city's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.catalogue import transliteration as tr


@dataclass(frozen=True)
class Group:
    names: tuple[str, ...]
    # Where a mention counts: "city" only the pin's city (names that are also a
    # person's: Gorky, Kalinin, Frunze); "text" also its title and legend;
    # "notes" also its notes.
    scope: str = "notes"


def _g(names: str, scope: str = "notes") -> Group:
    return Group(tuple(n.strip() for n in names.split("|") if n.strip()), scope)


PLACES: tuple[Group, ...] = (
    _g("Kyiv | Kiev | Київ | Києв | Киев | Кіеў | Kiiev | Kiew | Kyjiv"),
    _g("Saint Petersburg | St Petersburg | Sankt-Peterburg | Sankt Petersburg | Petersburg |"
       " Санкт-Петербург | Петербург | Leningrad | Ленинград | Ленінград | Petrograd |"
       " Петроград | Peterburi | Saint-Pétersbourg"),
    _g("Moscow | Moskva | Москва | Масква | Moskau | Moscou"),
    _g("Minsk | Минск | Мінск | Мінськ"),
    _g("Tallinn | Tallin | Таллин | Таллинн | Таллінн | Reval | Ревель"),
    _g("Riga | Rīga | Рига | Riia"),
    _g("Vilnius | Вильнюс | Вільнюс | Vilna | Wilno | Вильно"),
    _g("Kaunas | Каунас | Kovno | Ковно"),
    _g("Tartu | Тарту | Dorpat | Дерпт"),
    _g("Odesa | Odessa | Одесса | Одеса"),
    _g("Kharkiv | Kharkov | Харьков | Харків | Charkiw"),
    _g("Lviv | Lvov | Львов | Львів | Lemberg"),
    _g("Dnipro | Dnepropetrovsk | Dnipropetrovsk | Днепропетровск | Дніпропетровськ | Дніпро"),
    _g("Zaporizhzhia | Zaporozhye | Запорожье | Запоріжжя"),
    _g("Donetsk | Донецк | Донецьк | Stalino | Сталино"),
    _g("Sevastopol | Севастополь"),
    _g("Kerch | Керчь | Керч"),
    _g("Volgograd | Волгоград | Stalingrad | Сталинград | Tsaritsyn | Царицын"),
    _g("Nizhny Novgorod | Нижний Новгород | Gorky | Горький", scope="city"),
    _g("Yekaterinburg | Ekaterinburg | Екатеринбург | Sverdlovsk | Свердловск"),
    _g("Samara | Самара | Kuibyshev | Kuybyshev | Куйбышев", scope="city"),
    _g("Tver | Тверь | Kalinin | Калинин", scope="city"),
    _g("Tolyatti | Togliatti | Тольятти"),
    _g("Sergiev Posad | Sergiyev Posad | Сергиев Посад | Zagorsk | Загорск"),
    _g("Ulyanovsk | Ульяновск | Simbirsk | Симбирск"),
    _g("Kaliningrad | Калининград | Königsberg | Кёнигсберг"),
    _g("Almaty | Alma-Ata | Алма-Ата | Алматы"),
    _g("Bishkek | Бишкек | Frunze | Фрунзе", scope="city"),
    _g("Chisinau | Chișinău | Kishinev | Кишинёв | Кишинів | Кишинэу"),
    _g("Ashgabat | Ashkhabad | Ашхабад | Ашгабат"),
    _g("Dushanbe | Душанбе | Stalinabad | Сталинабад"),
    _g("Tashkent | Ташкент | Тошкент | Toshkent"),
    _g("Baku | Баку | Бакы | Bakı"),
    _g("Tbilisi | Тбилиси | Тбілісі | Tiflis | Тифлис | თბილისი"),
    _g("Yerevan | Erevan | Ереван | Єреван | Երեվան"),
    _g("Brest | Брест | Брэст | Brest-Litovsk"),
)  # fmt: skip

PERSONS: tuple[Group, ...] = (
    # A surname alone stands for the person, so a pin that says «Ю.А. ГАГАРИНА» or
    # only "Gagarin's flight" is found by "Yuri Gagarin" too.
    _g("Gagarin | Гагарин | Yuri Gagarin | Юрий Гагарин | Юрий Алексеевич Гагарин"),
    _g("Tereshkova | Терешкова | Valentina Tereshkova | Валентина Терешкова |"
       " Валентина Владимировна Терешкова"),
    _g("Korolev | Korolyov | Королёв | Sergei Korolev | Сергей Королёв |"
       " Сергей Павлович Королёв", scope="text"),
    _g("Tsiolkovsky | Циолковский | Konstantin Tsiolkovsky | Константин Циолковский |"
       " Константин Эдуардович Циолковский"),
    _g("Leonov | Леонов | Alexei Leonov | Алексей Леонов", scope="text"),
    _g("Titov | Титов | Gherman Titov | Герман Титов", scope="text"),
    _g("Pushkin | Пушкин | Alexander Pushkin | Александр Пушкин |"
       " Александр Сергеевич Пушкин", scope="text"),
    _g("Tolstoy | Толстой | Leo Tolstoy | Lev Tolstoy | Лев Толстой |"
       " Лев Николаевич Толстой"),
    _g("Shevchenko | Шевченко | Taras Shevchenko | Тарас Шевченко", scope="text"),
    _g("Lenin | Ленин | Ленін | Vladimir Lenin | Владимир Ленин | Владимир Ильич Ленин |"
       " Ильич | Ілліч | Ilyich", scope="text"),
    # The Olympic bear is Misha to his makers and Mishka to everyone else.
    _g("Misha | Mishka | Миша | Мишка | Mischa | Michka", scope="text"),
)  # fmt: skip

WORDS: tuple[Group, ...] = (
    _g("Victory | победа | перемога | võit"),
    _g("Olympic | Olympics | Olympiad | олимпийский | олимпиада | олімпійський | олімпіада |"
       " olümpia", scope="text"),
)  # fmt: skip

MONTHS: tuple[Group, ...] = (
    _g("February | февраль | февраля | лютий | лютого | veebruar", scope="text"),
    _g("March | март | марта | березень | березня | сакавік | сакавіка | märts | März",
       scope="text"),
    _g("April | апрель | апреля | квітень | квітня | aprill", scope="text"),
    _g("May | май | мая | травень | травня | mai", scope="text"),
    _g("October | октябрь | октября | жовтень | жовтня | oktoober | Oktober", scope="text"),
    _g("November | ноябрь | ноября | листопад | листопада | novembri", scope="text"),
)  # fmt: skip

GROUPS: tuple[Group, ...] = PLACES + PERSONS + MONTHS + WORDS


def _keys(word: str) -> set[str]:
    """What a word is compared by: its folded spelling in Russian letters and
    its stems (Cyrillic), or its spelling key (Latin)."""
    folded = tr.fold(word)
    if tr.has_cyrillic(folded):
        return {tr.russify(folded)} | tr.stems(folded, ukrainian=tr.is_ukrainian(folded))
    return {tr.spelling_key(folded), tr.spelling_key(tr.english_stem(folded))}


def _name_keys(name: str) -> list[set[str]]:
    return [_keys(word) for word in tr.words(name)]


_INDEX: list[tuple[Group, list[list[set[str]]]]] = [
    (group, [_name_keys(name) for name in group.names]) for group in GROUPS
]


def _mentions(name: list[set[str]], keys: set[str]) -> bool:
    return bool(name) and all(word & keys for word in name)


def equivalents(*, city: str = "", text: str = "", notes: str = "") -> list[str]:
    """Every name in a group the pin mentions: by its `city` (the whole name),
    its title and legend (`text`), and, for places, its `notes`."""
    city_words = tr.words(city)
    city_keys = set().union(*(_keys(w) for w in city_words))
    text_keys = set().union(*(_keys(w) for w in tr.words(text)))
    notes_keys = set().union(*(_keys(w) for w in tr.words(notes)))
    found: dict[str, None] = {}
    for group, names in _INDEX:
        hit = any(len(name) == len(city_words) and _mentions(name, city_keys) for name in names)
        if not hit and group.scope != "city":
            keys = text_keys | notes_keys if group.scope == "notes" else text_keys
            hit = any(_mentions(name, keys) for name in names)
        if hit:
            found.update(dict.fromkeys(group.names))
    return list(found)
